/**
 * The Lua source of the EchoLua prelude: it runs once per engine, with the full standard library, before any fold.
 * It keeps private references to what it needs, builds the sandbox (the base environment every fold instance sees),
 * strips the global table, and returns the private driver table the TypeScript engine calls.
 *
 * Any change to this text changes fold results or fuel counts: bump `ECHOLUA_VERSION` (the engine id also carries
 * the sha256 of this text).
 */

/** Error text of fuel exhaustion; the hook raises it and the sandbox's pcall/xpcall re-raise it. */
export const FUEL_MESSAGE = 'echolua: fuel exhausted';
/** Lua's own text for a memory error (`LUA_ERRMEM`); the sandbox's pcall/xpcall re-raise it. */
export const MEMORY_MESSAGE = 'not enough memory';
/** Deepest nesting of tables exchanged with JS (state and events). */
export const MAX_DEPTH = 100;
/** `log(...)` lines kept per event; the last kept line says that further lines were dropped. */
export const MAX_LOG_LINES = 100;
/** Longest `log(...)` line, in bytes; longer lines are cut. */
export const MAX_LOG_BYTES = 1000;

/** Names of the private driver functions the prelude returns (see the end of the prelude). */
export const DRIVER_FUNCTIONS = [
  'prepare',
  'check',
  'run',
  'instance',
  'run_reuse',
  'finish',
  'contract',
  'gc',
] as const;

export const ECHOLUA_PRELUDE = `-- EchoLua prelude
local NULL, TICK = ...
local MAXDEPTH, MAXLOGS, MAXLOGLEN = ${MAX_DEPTH}, ${MAX_LOG_LINES}, ${MAX_LOG_BYTES}
local FUEL_MSG, MEM_MSG = '${FUEL_MESSAGE}', '${MEMORY_MESSAGE}'
local MAXSAFE = 9007199254740991

local type, select, error, tonumber, ipairs, assert = type, select, error, tonumber, ipairs, assert
local rawequal, rawget, rawlen, next = rawequal, rawget, rawlen, next
local tostring0, pcall0, xpcall0, setmetatable0 = tostring, pcall, xpcall, setmetatable
local setupvalue = debug.setupvalue
local collect = collectgarbage
local mtype = math.type
local sort0, concat0, unpack0 = table.sort, table.concat, table.unpack
local sfind, sformat, sgsub, ssub, sbyte, schar = string.find, string.format, string.gsub, string.sub, string.byte, string.char
local utf8len = utf8.len
local G, strlib, tablib, mathlib, utf8lib = _G, string, table, math, utf8

local function readonly(t, name)
  return setmetatable0({}, {
    __index = t,
    __newindex = function() error(name .. ' is read-only in EchoLua', 2) end,
    __metatable = false,
  })
end

-- tostring: no addresses (tables, functions), one text for NaN.
local function tostring_(v)
  local t = type(v)
  if t == 'number' then
    if v ~= v then return 'nan' end
    return tostring0(v)
  elseif t == 'string' or t == 'boolean' or t == 'nil' then
    return tostring0(v)
  elseif rawequal(v, NULL) then
    return 'null'
  end
  error('tostring: a ' .. t .. ' has no deterministic text (it would print an address); use json_encode', 2)
end

-- Canonical JSON: sorted keys (bytewise), no spaces, integers only, short escapes.
local ESC = {}
for b = 0, 31 do ESC[schar(b)] = sformat('\\\\u%04x', b) end
ESC['\\b'], ESC['\\f'], ESC['\\n'], ESC['\\r'], ESC['\\t'] = '\\\\b', '\\\\f', '\\\\n', '\\\\r', '\\\\t'
ESC['"'], ESC['\\\\'] = '\\\\"', '\\\\\\\\'
local NEEDS_ESC = '[%c"\\\\]'

local function qstr(s)
  if not utf8len(s) then return nil end
  if sfind(s, NEEDS_ESC) then s = sgsub(s, NEEDS_ESC, ESC) end
  return '"' .. s .. '"'
end

local function fail(reason) return nil, reason, {} end

local encode_into
encode_into = function(v, buf, n, depth, seen)
  local t = type(v)
  if t == 'string' then
    local q = qstr(v)
    if not q then return fail('is a string that is not valid UTF-8') end
    n = n + 1; buf[n] = q
    return n
  elseif t == 'number' then
    if mtype(v) == 'integer' then
      if v > MAXSAFE or v < -MAXSAFE then return fail('is an integer beyond +-(2^53-1)') end
      n = n + 1; buf[n] = sformat('%d', v)
      return n
    end
    if v ~= v then return fail('is NaN') end
    if v == 1/0 or v == -1/0 then return fail('is an infinite float') end
    if v == 0 then return fail('is a float zero (0.0 or -0.0); use integers (math.tointeger)') end
    local text = sformat('%.17g', v)
    if not sfind(text, '[%.eE]') then text = text .. '.0' end
    return fail('is a float (' .. text .. '); use integers (math.tointeger)')
  elseif t == 'boolean' then
    n = n + 1; buf[n] = v and 'true' or 'false'
    return n
  elseif t == 'table' then
    if seen[v] then return fail('is a table that appears twice (a cycle or a shared table)') end
    if depth >= MAXDEPTH then return fail('nests deeper than ' .. MAXDEPTH .. ' levels') end
    seen[v] = true
    local nint, nstr, minint, maxint, skeys = 0, 0, 1, 0, nil
    for k in next, v do
      if mtype(k) == 'integer' then
        nint = nint + 1
        if k < minint then minint = k end
        if k > maxint then maxint = k end
      elseif type(k) == 'string' then
        nstr = nstr + 1
        if not skeys then skeys = {} end
        skeys[nstr] = k
      else
        return fail('has a key of type ' .. (mtype(k) or type(k)) .. '; keys are strings (objects) or 1..n (arrays)')
      end
    end
    if nint > 0 and nstr > 0 then return fail('mixes integer and string keys') end
    if nint > 0 then
      if minint < 1 or maxint ~= nint then return fail('has integer keys that are not exactly 1..n') end
      n = n + 1; buf[n] = '['
      for i = 1, nint do
        if i > 1 then n = n + 1; buf[n] = ',' end
        local r, why, path = encode_into(v[i], buf, n, depth + 1, seen)
        if not r then path[#path + 1] = i; return nil, why, path end
        n = r
      end
      n = n + 1; buf[n] = ']'
      return n
    end
    if nstr == 0 then
      n = n + 1; buf[n] = '{}'
      return n
    end
    sort0(skeys)
    n = n + 1; buf[n] = '{'
    for i = 1, nstr do
      local k = skeys[i]
      local qk = qstr(k)
      if not qk then return fail('has a key that is not valid UTF-8') end
      if i > 1 then n = n + 1; buf[n] = ',' end
      n = n + 1; buf[n] = qk
      n = n + 1; buf[n] = ':'
      local r, why, path = encode_into(v[k], buf, n, depth + 1, seen)
      if not r then path[#path + 1] = k; return nil, why, path end
      n = r
    end
    n = n + 1; buf[n] = '}'
    return n
  elseif rawequal(v, NULL) then
    n = n + 1; buf[n] = 'null'
    return n
  end
  return fail('is a ' .. t)
end

-- The canonical JSON text of v, or nil, reason, path ('$.a[0].b': JS-style, arrays 0-based).
local function encode(v)
  local buf = {}
  local n, why, path = encode_into(v, buf, 0, 0, {})
  if not n then
    local parts = { '$' }
    for i = #path, 1, -1 do
      local k = path[i]
      if type(k) == 'number' then
        parts[#parts + 1] = '[' .. (k - 1) .. ']'
      elseif sfind(k, '^[%a_][%w_]*$') then
        parts[#parts + 1] = '.' .. k
      else
        parts[#parts + 1] = '[' .. (qstr(k) or '?') .. ']'
      end
    end
    return nil, why, concat0(parts)
  end
  return concat0(buf, '', 1, n)
end

local function json_encode(v)
  local s, why, path = encode(v)
  if not s then error('json_encode: the value at ' .. path .. ' ' .. why, 2) end
  return s
end

-- Deterministic iteration: integer keys ascending, then string keys bytewise. No other key types.
local function dkeys(t)
  if type(t) ~= 'table' then error('dkeys: expected a table, got ' .. type(t), 2) end
  local ints, strs, ni, ns = {}, {}, 0, 0
  for k in next, t do
    if mtype(k) == 'integer' then
      ni = ni + 1; ints[ni] = k
    elseif type(k) == 'string' then
      ns = ns + 1; strs[ns] = k
    else
      error('dkeys: a key of type ' .. (mtype(k) or type(k)) .. ' has no deterministic order', 2)
    end
  end
  sort0(ints)
  sort0(strs)
  for i = 1, ns do ints[ni + i] = strs[i] end
  return ints
end

local function dpairs(t)
  if type(t) ~= 'table' then error('dpairs: expected a table, got ' .. type(t), 2) end
  local keys, i = dkeys(t), 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end

-- Total order of dsort without a comparator: numbers (numerically) before strings (bytewise).
local function default_less(a, b)
  local ta, tb = type(a), type(b)
  if ta == 'number' and tb == 'number' then
    if a ~= a or b ~= b then error('dsort: NaN has no order', 3) end
    return a < b
  elseif ta == 'string' and tb == 'string' then
    return a < b
  elseif ta == 'number' and tb == 'string' then
    return true
  elseif ta == 'string' and tb == 'number' then
    return false
  end
  error('dsort: cannot order a ' .. ta .. ' and a ' .. tb .. ' (pass a comparator)', 3)
end

-- Stable merge sort (insertion-sorted runs of 8, then bottom-up merges); sorts t[1..#t] in place, returns t.
local function dsort(t, less)
  if type(t) ~= 'table' then error('dsort: expected a table, got ' .. type(t), 2) end
  if less == nil then less = default_less end
  local n = #t
  for lo = 1, n, 8 do
    local hi = lo + 7
    if hi > n then hi = n end
    for i = lo + 1, hi do
      local v, j = t[i], i - 1
      while j >= lo and less(v, t[j]) do
        t[j + 1] = t[j]
        j = j - 1
      end
      t[j + 1] = v
    end
  end
  local src, dst, width = t, {}, 8
  while width < n do
    for lo = 1, n, 2 * width do
      local mid, hi = lo + width, lo + 2 * width - 1
      if mid > n then
        for k = lo, n do dst[k] = src[k] end
      else
        if hi > n then hi = n end
        local i, j, k = lo, mid, lo
        while i < mid and j <= hi do
          if less(src[j], src[i]) then
            dst[k] = src[j]; j = j + 1
          else
            dst[k] = src[i]; i = i + 1
          end
          k = k + 1
        end
        while i < mid do dst[k] = src[i]; i = i + 1; k = k + 1 end
        while j <= hi do dst[k] = src[j]; j = j + 1; k = k + 1 end
      end
    end
    src, dst = dst, src
    width = width * 2
  end
  if src ~= t then
    for k = 1, n do t[k] = src[k] end
  end
  return t
end

-- Fuel and memory errors cannot be caught by the fold.
local function fatal(e) return e == FUEL_MSG or e == MEM_MSG end
local function rethrow(ok, ...)
  if not ok and fatal((...)) then error((...), 0) end
  return ok, ...
end
local function pcall_(f, ...) return rethrow(pcall0(f, ...)) end
local function xpcall_(f, h, ...)
  return rethrow(xpcall0(f, function(e)
    if fatal(e) then return e end
    return h(e)
  end, ...))
end

-- string.find: plain search only (Lua patterns can take time that fuel does not meter).
local function find(s, text, init, plain)
  if plain ~= true then
    error('string.find: Lua patterns are not available in EchoLua; call string.find(s, text, init, true)', 2)
  end
  return sfind(s, text, init, true)
end

-- string.format: no %p (an address), %s uses the sandbox tostring, no NaN through float conversions.
local FLOATCONV = { e = true, E = true, f = true, F = true, g = true, G = true, a = true, A = true }
local function format(fmt, ...)
  if type(fmt) ~= 'string' then return sformat(fmt, ...) end
  local n = select('#', ...)
  local args = { ... }
  local argi, pos = 0, 1
  while true do
    local s, e, conv = sfind(fmt, '%%[-+ #0]*%d*%.?%d*(.)', pos)
    if not s then break end
    pos = e + 1
    if conv ~= '%' then
      argi = argi + 1
      local v = args[argi]
      if conv == 'p' then
        error("string.format: '%p' is not available in EchoLua (it prints an address)", 2)
      elseif conv == 's' then
        if type(v) ~= 'string' then args[argi] = tostring_(v) end
      elseif FLOATCONV[conv] and type(v) == 'number' and v ~= v then
        error('string.format: NaN has no deterministic text', 2)
      end
    end
  end
  return sformat(fmt, unpack0(args, 1, n))
end

-- The string table is also the __index of the string metatable (s:upper()): sanitize it in place.
strlib.dump, strlib.gsub, strlib.gmatch, strlib.match = nil, nil, nil, nil
strlib.pack, strlib.unpack, strlib.packsize = nil, nil, nil
strlib.find, strlib.format = find, format

local TABLE = {
  insert = tablib.insert, remove = tablib.remove, concat = tablib.concat, unpack = tablib.unpack,
  move = tablib.move, pack = tablib.pack, sort = dsort,
}
local MATH = {}
for _, k in ipairs({ 'abs', 'ceil', 'floor', 'fmod', 'huge', 'max', 'maxinteger', 'min', 'mininteger', 'modf',
  'pi', 'sqrt', 'tointeger', 'type', 'ult', 'exp', 'log', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan' }) do
  MATH[k] = mathlib[k]
end

-- log(...): diagnostics, returned beside the state, never part of it.
local LOGS, NLOGS, EVLOGS, CUR = {}, 0, 0, 0
local function hexbyte(c) return sformat('\\\\x%02X', sbyte(c)) end
local function describe(v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'table' then return encode(v) or '<table>' end
  if t == 'function' then return '<function>' end
  if t == 'userdata' and not rawequal(v, NULL) then return '<userdata>' end
  return tostring_(v)
end
local function log(...)
  if EVLOGS >= MAXLOGS then return end
  EVLOGS = EVLOGS + 1
  local msg
  if EVLOGS == MAXLOGS then
    msg = 'log: ' .. MAXLOGS .. ' lines for this event; further lines are dropped'
  else
    local parts = {}
    for i = 1, select('#', ...) do parts[i] = describe((select(i, ...))) end
    msg = concat0(parts, ' ')
    if #msg > MAXLOGLEN then msg = ssub(msg, 1, MAXLOGLEN) end
    if not utf8len(msg) then msg = sgsub(msg, '[\\128-\\255]', hexbyte) end
  end
  LOGS[NLOGS + 1] = CUR - 1
  LOGS[NLOGS + 2] = msg
  NLOGS = NLOGS + 2
end

local BASE = {
  assert = assert, error = error, ipairs = ipairs, select = select, tonumber = tonumber, type = type,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen,
  tostring = tostring_, pcall = pcall_, xpcall = xpcall_,
  null = NULL, dkeys = dkeys, dpairs = dpairs, dsort = dsort, log = log, json_encode = json_encode,
  string = readonly(strlib, 'string'), table = readonly(TABLE, 'table'), math = readonly(MATH, 'math'),
  utf8 = readonly(utf8lib, 'utf8'),
}
local ENV_MT = { __index = BASE, __metatable = false }

-- Driver. A fold instance is the fold chunk run in a fresh environment; every event gets a fresh instance.
local CONTRACT_MSG = nil
local CONTRACT_ERR = {}
local function contract(msg)
  CONTRACT_MSG = msg
  error(CONTRACT_ERR, 0)
end

local function instantiate(chunk)
  local env = setmetatable0({}, ENV_MT)
  setupvalue(chunk, 1, env)
  chunk()
  local f = env.fold
  if type(f) ~= 'function' then contract('the fold source does not define a global function fold(state, event)') end
  return f
end

local function prepare(chunk)
  setupvalue(chunk, 1, {})
  return chunk
end

-- The load-time instance. The second, empty segment lets the engine measure what an instantiation costs
-- (segment 1 minus segment 2), which the reuse path charges per event so that fuel is the same on both paths.
local function check(chunk)
  LOGS, NLOGS, CUR, EVLOGS = {}, 0, 0, 0
  TICK()
  instantiate(chunk)
  TICK()
  TICK()
  return true
end

-- Reuse path (spec § 1.1): one instance for every event. Its environment is frozen after the top level ran: the
-- static rule already excludes global writes from functions, and this turns any write it missed into an error
-- instead of state that would survive to the next event.
local function frozen(_, k)
  error('echolua: a reused fold instance cannot assign the global ' .. tostring_(k), 2)
end
local function instance(chunk)
  local mt = { __index = BASE }
  local env = setmetatable0({}, mt)
  setupvalue(chunk, 1, env)
  chunk()
  local f = env.fold
  if type(f) ~= 'function' then contract('the fold source does not define a global function fold(state, event)') end
  mt.__newindex, mt.__metatable = frozen, false
  return f
end

local function run(chunk, state, events, n)
  LOGS, NLOGS = {}, 0
  for i = 1, n do
    TICK()
    CUR, EVLOGS = i, 0
    state = instantiate(chunk)(state, events[i])
    if state == nil then contract('fold returned nil; it must return the new state') end
  end
  TICK()
  return state
end

-- Same loop as run, with the instance f reused (one GETUPVAL-free MOVE instead of instantiate(chunk)). The log
-- counters CUR and EVLOGS are set by TICK itself (the engine writes both upvalues' values in place at every event
-- boundary); the engine charges the four instructions of 'CUR, EVLOGS = i, 0' with the instantiation, so fuel is
-- the same as on the fresh path.
local function run_reuse(f, state, events, n)
  LOGS, NLOGS = {}, 0
  for i = 1, n do
    TICK()
    state = f(state, events[i])
    if state == nil then contract('fold returned nil; it must return the new state') end
  end
  TICK()
  return state
end

local function finish(state)
  local s, why, path = encode(state)
  if not s then return nil, why, path end
  local buf = {}
  for i = 1, NLOGS, 2 do buf[#buf + 1] = '[' .. LOGS[i] .. ',' .. qstr(LOGS[i + 1]) .. ']' end
  LOGS, NLOGS = {}, 0
  return '[' .. s .. ',[' .. concat0(buf, ',') .. ']]'
end

local function take_contract()
  local m = CONTRACT_MSG
  CONTRACT_MSG = nil
  return m
end

local function gc()
  LOGS, NLOGS = {}, 0
  collect('collect')
  return collect('count')
end

-- Strip the global table: folds never see it (their environment is BASE), and nothing else should either.
local names = {}
for k in next, G do names[#names + 1] = k end
for i = 1, #names do G[names[i]] = nil end

return {
  prepare = prepare, check = check, run = run, instance = instance, run_reuse = run_reuse, finish = finish,
  contract = take_contract, gc = gc,
}
`;
