-- Key-value store: state = { entries = { [key] = value }, version = <integer>, log = { "<op> <key>", ... } }.
-- Events: { type = "put", key = <string>, value = <any> } | { type = "del", key = <string> }.
-- Keeps at most 5 entries in `recent` (the last keys written, newest last).
local MAX_RECENT = 5

local function remember(state, key)
  local recent = state.recent or {}
  local kept = {}
  for _, k in ipairs(recent) do
    if k ~= key then kept[#kept + 1] = k end
  end
  kept[#kept + 1] = key
  while #kept > MAX_RECENT do table.remove(kept, 1) end
  state.recent = kept
end

function fold(state, event)
  state.entries = state.entries or {}
  if type(event.key) ~= "string" then error("event has no string key") end
  if event.type == "put" then
    state.entries[event.key] = event.value
    remember(state, event.key)
  elseif event.type == "del" then
    state.entries[event.key] = nil
  else
    log("ignored event type", event.type)
    return state
  end
  state.version = (state.version or 0) + 1
  -- A deterministic digest of the keys, in dpairs order.
  local keys = {}
  for k in dpairs(state.entries) do keys[#keys + 1] = k end
  state.keys = table.concat(keys, ",")
  return state
end
