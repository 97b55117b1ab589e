/**
 * EchoLua lint: a real Lua 5.4 tokenizer and the load-time check that a fold uses no forbidden name.
 *
 * The lint is the first line of defence and gives an early, precise error (`GATOS_E_FOLD_LINT` with the line and
 * the name). The sandbox itself does not rely on it: every forbidden name is also absent at run time.
 * Strings, long strings (`[[...]]`, `[==[...]==]`) and comments (`--`, `--[[...]]`) are skipped, so `"pairs"`
 * inside a string is fine while `pairs(t)` is not.
 */
import { GatosError } from '../errors.js';

/** One Lua token. `kind` `op` covers operators and punctuation. */
export interface LuaToken {
  kind: 'name' | 'keyword' | 'string' | 'number' | 'op';
  /** The token text; for strings, the raw text between the delimiters (escapes not decoded). */
  value: string;
  /** 1-based line where the token starts. */
  line: number;
}

/** One forbidden use found by {@link lintFold}. */
export interface LintFinding {
  line: number;
  /** The forbidden name, dotted for library members (`math.random`). */
  name: string;
  reason: string;
}

/** Lua 5.4's reserved words. */
export const LUA_KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'break',
  'do',
  'else',
  'elseif',
  'end',
  'false',
  'for',
  'function',
  'goto',
  'if',
  'in',
  'local',
  'nil',
  'not',
  'or',
  'repeat',
  'return',
  'then',
  'true',
  'until',
  'while',
]);

const NONDETERMINISTIC = 'its result is not deterministic';
const NO_HOST = 'folds have no access to the host (files, processes, clock, modules)';

/** Global names a fold may not use, with the reason. */
export const FORBIDDEN_GLOBALS: ReadonlyMap<string, string> = new Map([
  ['pairs', 'iteration order is not deterministic; use dpairs(t) or dkeys(t)'],
  ['next', 'iteration order is not deterministic; use dpairs(t) or dkeys(t)'],
  ['os', NO_HOST],
  ['io', NO_HOST],
  ['debug', 'the debug library breaks the sandbox'],
  ['package', NO_HOST],
  ['require', NO_HOST],
  ['module', NO_HOST],
  ['load', 'loading code at run time is not allowed'],
  ['loadstring', 'loading code at run time is not allowed'],
  ['loadfile', NO_HOST],
  ['dofile', NO_HOST],
  ['collectgarbage', 'the collector is not under fold control'],
  ['print', 'use log(...) for diagnostics'],
  ['setmetatable', 'metatables are not available in EchoLua'],
  ['getmetatable', 'metatables are not available in EchoLua'],
  ['rawset', 'rawset is not available in EchoLua (library tables are read-only)'],
  ['coroutine', 'coroutines are not available in EchoLua'],
  ['_G', 'the global table is not reachable from a fold'],
  ['_ENV', 'the environment is not reachable from a fold'],
  ['setfenv', 'the environment is not reachable from a fold'],
  ['getfenv', 'the environment is not reachable from a fold'],
  ['newproxy', 'userdata is not available in EchoLua'],
]);

/** Library members a fold may not use (`lib.member` or `lib["member"]`), with the reason. */
export const FORBIDDEN_MEMBERS: ReadonlyMap<string, string> = new Map([
  ['math.random', NONDETERMINISTIC],
  ['math.randomseed', NONDETERMINISTIC],
  ['string.dump', 'bytecode is not available in EchoLua'],
  ['string.gsub', 'Lua patterns are not available (their C time is not metered by fuel)'],
  ['string.match', 'Lua patterns are not available (their C time is not metered by fuel)'],
  ['string.gmatch', 'Lua patterns are not available (their C time is not metered by fuel)'],
  ['string.pack', 'binary packing is platform dependent in EchoLua'],
  ['string.unpack', 'binary packing is platform dependent in EchoLua'],
  ['string.packsize', 'binary packing is platform dependent in EchoLua'],
  ['os.time', NO_HOST],
  ['os.clock', NO_HOST],
  ['os.date', NO_HOST],
]);

function lintError(message: string, line: number, name?: string): GatosError {
  return new GatosError('GATOS_E_FOLD_LINT', message, {
    data: { line, ...(name === undefined ? {} : { name }) },
  });
}

function isNameStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isNameChar(c: string): boolean {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

const OPS3 = ['...'];
const OPS2 = ['..', '==', '~=', '<=', '>=', '<<', '>>', '//', '::'];

/**
 * Tokenize Lua 5.4 source. Comments and whitespace are dropped. Throws `GATOS_E_FOLD_LINT` on an unfinished
 * string, long string or comment; other lexical errors are left to the compiler.
 */
export function tokenizeLua(src: string): LuaToken[] {
  const tokens: LuaToken[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;

  /** Consume one newline sequence (`\n`, `\r`, `\r\n`, `\n\r`) at i. */
  const newline = (): void => {
    const c = src[i];
    i++;
    const d = src[i];
    if ((d === '\n' || d === '\r') && d !== c) i++;
    line++;
  };

  /** At `[`: the level of a long bracket `[==[` starting at i, or -1. */
  const longBracketLevel = (at: number): number => {
    let j = at + 1;
    let level = 0;
    while (src[j] === '=') {
      level++;
      j++;
    }
    return src[j] === '[' ? level : -1;
  };

  /** Skip a long bracket of `level` starting at i (at the first `[`); returns its content. */
  const longBracket = (level: number, what: string): string => {
    const startLine = line;
    i += level + 2;
    const close = `]${'='.repeat(level)}]`;
    const start = i;
    for (;;) {
      if (i >= n) throw lintError(`unfinished long ${what} (starting at line ${startLine})`, startLine);
      const c = src[i]!;
      if (c === ']' && src.startsWith(close, i)) {
        const content = src.slice(start, i);
        i += close.length;
        return content;
      }
      if (c === '\n' || c === '\r') newline();
      else i++;
    }
  };

  while (i < n) {
    const c = src[i]!;
    if (c === '\n' || c === '\r') {
      newline();
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '-' && src[i + 1] === '-') {
      i += 2;
      if (src[i] === '[') {
        const level = longBracketLevel(i);
        if (level >= 0) {
          longBracket(level, 'comment');
          continue;
        }
      }
      while (i < n && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    if (c === '[') {
      const level = longBracketLevel(i);
      if (level >= 0) {
        const startLine = line;
        tokens.push({ kind: 'string', value: longBracket(level, 'string'), line: startLine });
        continue;
      }
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      i++;
      const start = i;
      for (;;) {
        if (i >= n) throw lintError('unfinished string', startLine);
        const d = src[i]!;
        if (d === c) break;
        if (d === '\n' || d === '\r') throw lintError('unfinished string', startLine);
        if (d === '\\') {
          i++;
          const e = src[i];
          if (e === '\n' || e === '\r') newline();
          else if (e === 'z') {
            i++;
            while (i < n && /\s/.test(src[i]!)) {
              if (src[i] === '\n' || src[i] === '\r') newline();
              else i++;
            }
          } else i++;
          continue;
        }
        i++;
      }
      tokens.push({ kind: 'string', value: src.slice(start, i), line: startLine });
      i++;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      const start = i;
      const hex = c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X');
      if (hex) i += 2;
      for (;;) {
        const d = src[i] ?? '';
        if (
          (hex ? d === 'p' || d === 'P' : d === 'e' || d === 'E') &&
          (src[i + 1] === '+' || src[i + 1] === '-')
        ) {
          i += 2;
          continue;
        }
        if (isNameChar(d) || d === '.') {
          i++;
          continue;
        }
        break;
      }
      tokens.push({ kind: 'number', value: src.slice(start, i), line });
      continue;
    }
    if (isNameStart(c)) {
      const start = i;
      while (i < n && isNameChar(src[i]!)) i++;
      const word = src.slice(start, i);
      tokens.push({ kind: LUA_KEYWORDS.has(word) ? 'keyword' : 'name', value: word, line });
      continue;
    }
    const op3 = OPS3.find((o) => src.startsWith(o, i));
    const op = op3 ?? OPS2.find((o) => src.startsWith(o, i)) ?? c;
    tokens.push({ kind: 'op', value: op, line });
    i += op.length;
  }
  return tokens;
}

/** Every forbidden use in `src`, in source order. Throws `GATOS_E_FOLD_LINT` on an unfinished string/comment. */
export function lintFindings(src: string): LintFinding[] {
  const toks = tokenizeLua(src);
  const findings: LintFinding[] = [];
  const brackets: string[] = [];
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.kind === 'op') {
      if (t.value === '(' || t.value === '[' || t.value === '{') brackets.push(t.value);
      else if (t.value === ')' || t.value === ']' || t.value === '}') brackets.pop();
      continue;
    }
    if (t.kind !== 'name') continue;
    const prev = toks[k - 1];
    const next = toks[k + 1];
    // A field name (`t.pairs`, `obj:next()`) is not a global.
    if (prev?.kind === 'op' && (prev.value === '.' || prev.value === ':')) continue;
    // A table constructor key (`{ next = 1 }`).
    if (
      brackets[brackets.length - 1] === '{' &&
      prev?.kind === 'op' &&
      (prev.value === '{' || prev.value === ',' || prev.value === ';') &&
      next?.kind === 'op' &&
      next.value === '='
    ) {
      continue;
    }
    const reason = FORBIDDEN_GLOBALS.get(t.value);
    if (reason !== undefined) {
      findings.push({ line: t.line, name: t.value, reason });
      continue;
    }
    // lib.member or lib["member"]
    let member: string | undefined;
    if (next?.kind === 'op' && next.value === '.' && toks[k + 2]?.kind === 'name')
      member = toks[k + 2]!.value;
    else if (
      next?.kind === 'op' &&
      next.value === '[' &&
      toks[k + 2]?.kind === 'string' &&
      toks[k + 3]?.kind === 'op' &&
      toks[k + 3]!.value === ']'
    ) {
      member = toks[k + 2]!.value;
    }
    if (member !== undefined) {
      const dotted = `${t.value}.${member}`;
      const why = FORBIDDEN_MEMBERS.get(dotted);
      if (why !== undefined) findings.push({ line: t.line, name: dotted, reason: why });
    }
  }
  return findings;
}

/**
 * Lint a fold's source: throws `GATOS_E_FOLD_LINT` (with `data.line`, `data.name` and `data.findings`) when it
 * uses a forbidden name, or when a string or comment is unfinished.
 */
export function lintFold(src: string, chunkName = 'fold'): void {
  const findings = lintFindings(src);
  const first = findings[0];
  if (first === undefined) return;
  throw new GatosError(
    'GATOS_E_FOLD_LINT',
    `${chunkName}:${first.line}: '${first.name}' is not available in EchoLua: ${first.reason}`,
    {
      data: { line: first.line, name: first.name, findings },
      hint: 'See spec/echolua.md for the EchoLua subset and its deterministic replacements.',
    },
  );
}

/** Verdict of {@link foldReuse}: may one fold instance serve every event? */
export type FoldReuseVerdict = { reusable: true } | { reusable: false; line: number; reason: string };

/** `local NAME = <literal>`: the literal tokens a top-level constant may hold. */
function isLiteral(toks: readonly LuaToken[], k: number): number {
  const t = toks[k];
  if (t === undefined) return 0;
  if (t.kind === 'number' || t.kind === 'string') return 1;
  if (t.kind === 'keyword' && (t.value === 'true' || t.value === 'false' || t.value === 'nil')) return 1;
  if (t.kind === 'op' && t.value === '-' && toks[k + 1]?.kind === 'number') return 2;
  return 0;
}

const isOp = (t: LuaToken | undefined, v: string): boolean => t?.kind === 'op' && t.value === v;
const isKw = (t: LuaToken | undefined, v: string): boolean => t?.kind === 'keyword' && t.value === v;

/** Index just past the `end` closing the function body whose parameter list starts at `k` (at `(`), or -1. */
function skipFunctionBody(toks: readonly LuaToken[], k: number): number {
  let depth = 1;
  for (let j = k; j < toks.length; j++) {
    const t = toks[j]!;
    if (t.kind !== 'keyword') continue;
    if (t.value === 'function' || t.value === 'do' || t.value === 'if' || t.value === 'repeat') depth++;
    else if (t.value === 'end' || t.value === 'until') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/** Index past a balanced bracket group opening at `k`, or -1. */
function skipGroup(toks: readonly LuaToken[], k: number): number {
  const open = toks[k]!.value;
  const close = open === '(' ? ')' : open === '[' ? ']' : '}';
  let depth = 0;
  for (let j = k; j < toks.length; j++) {
    const t = toks[j]!;
    if (t.kind !== 'op') continue;
    if (t.value === open) depth++;
    else if (t.value === close && --depth === 0) return j + 1;
  }
  return -1;
}

/**
 * Is the plain name at `k` (in statement position) an assignment target: `NAME = …` or `NAME, v2, … = …`?
 * Conservative: any var list that ends at `=` counts.
 */
function isAssignTarget(toks: readonly LuaToken[], k: number): boolean {
  const next = toks[k + 1];
  if (isOp(next, '=')) return true;
  if (!isOp(next, ',')) return false;
  let j = k + 2;
  for (;;) {
    const t = toks[j];
    if (t?.kind === 'name') j++;
    else if (isOp(t, '(')) {
      j = skipGroup(toks, j);
      if (j < 0) return false;
    } else return false;
    // Suffixes of a var.
    for (;;) {
      const s = toks[j];
      if (isOp(s, '.') && toks[j + 1]?.kind === 'name') j += 2;
      else if (isOp(s, ':') && toks[j + 1]?.kind === 'name') j += 2;
      else if (isOp(s, '[') || isOp(s, '(') || isOp(s, '{')) {
        j = skipGroup(toks, j);
        if (j < 0) return false;
      } else if (s?.kind === 'string') j++;
      else break;
    }
    if (isOp(toks[j], '=')) return true;
    if (!isOp(toks[j], ',')) return false;
    j++;
  }
}

/**
 * The static rule that lets EchoLua reuse one fold instance for every event (spec/echolua.md § 1.1). The chunk's
 * top level may only hold `function NAME(…) … end`, `local function NAME(…) … end` and `local NAME[, …] [=
 * literal[, …]]` (numbers, strings, booleans, nil); `fold` is one of the global functions. Anywhere in the source:
 * no assignment to a top-level local (`NAME = …`, also in a list, `for NAME`, or a re-declaration of the same name,
 * counted conservatively), no assignment to a global inside a function (`NAME = …` or `function NAME` where NAME is
 * not a local of an enclosing function block), and a top-level function is only ever called (`f(…)`, `f"…"`,
 * `f{…}`), never used as a value (its identity would survive from one event to the next). Anything else: not
 * reusable, and every event gets a fresh instance. Conservative by design: a "no" is always safe.
 */
export function foldReuse(src: string): FoldReuseVerdict {
  let toks: LuaToken[];
  try {
    toks = tokenizeLua(src);
  } catch {
    return { reusable: false, line: 0, reason: 'the source does not tokenize' };
  }
  const no = (t: LuaToken | undefined, reason: string): FoldReuseVerdict => ({
    reusable: false,
    line: t?.line ?? 0,
    reason,
  });
  // Phase 1: the top level.
  const topLocals = new Set<string>();
  const topFuncs = new Set<string>();
  const globalFuncs = new Set<string>();
  for (let k = 0; k < toks.length; ) {
    const t = toks[k]!;
    if (isOp(t, ';')) {
      k++;
      continue;
    }
    if (isKw(t, 'function')) {
      const name = toks[k + 1];
      if (name?.kind !== 'name' || !isOp(toks[k + 2], '('))
        return no(t, 'a top-level function that is not a plain global name');
      topFuncs.add(name.value);
      globalFuncs.add(name.value);
      k = skipFunctionBody(toks, k + 2);
      if (k < 0) return no(t, 'unbalanced function body');
      continue;
    }
    if (isKw(t, 'local')) {
      if (isKw(toks[k + 1], 'function')) {
        const name = toks[k + 2];
        if (name?.kind !== 'name' || !isOp(toks[k + 3], '(')) return no(t, 'malformed local function');
        topFuncs.add(name.value);
        topLocals.add(name.value);
        k = skipFunctionBody(toks, k + 3);
        if (k < 0) return no(t, 'unbalanced function body');
        continue;
      }
      let j = k + 1;
      for (;;) {
        const n = toks[j];
        if (n?.kind !== 'name') return no(t, 'malformed top-level local');
        if (topFuncs.has(n.value)) return no(n, `top-level local ${n.value} is declared twice`);
        topLocals.add(n.value);
        j++;
        if (!isOp(toks[j], ',')) break;
        j++;
      }
      if (isOp(toks[j], '=')) {
        j++;
        for (;;) {
          const len = isLiteral(toks, j);
          if (len === 0)
            return no(toks[j], 'a top-level local is not a literal number, string, boolean or nil');
          j += len;
          if (!isOp(toks[j], ',')) break;
          j++;
        }
      }
      const after = toks[j];
      if (after !== undefined && after.kind === 'op' && after.value !== ';')
        return no(after, 'a top-level local is not a plain literal');
      k = j;
      continue;
    }
    return no(t, 'the top level holds a statement other than function definitions and literal locals');
  }
  if (!globalFuncs.has('fold') || topLocals.has('fold'))
    return no(undefined, 'no top-level global function fold');
  for (const f of globalFuncs) if (topLocals.has(f)) return no(undefined, `${f} is both local and global`);

  // Phase 2: the whole source, with block scopes of function-local names.
  interface Ctx {
    kind: 'block' | 'bracket';
    /** Names declared in this block (function-internal blocks only). */
    names: Set<string>;
    /** Function depth of this block (0 = the chunk's top level). */
    fn: number;
  }
  const stack: Ctx[] = [{ kind: 'block', names: new Set(), fn: 0 }];
  const top = (): Ctx => stack[stack.length - 1]!;
  let fnDepth = 0;
  let pending: string[] = [];
  const isLocal = (name: string): boolean => {
    for (let s = stack.length - 1; s >= 0; s--) {
      const c = stack[s]!;
      if (c.fn === 0) return false;
      if (c.names.has(name)) return true;
    }
    return false;
  };
  /** Declare names of a list starting at j (names, `<attrib>`, commas); returns the index after the list. */
  const declareList = (j: number, into: string[]): number => {
    for (;;) {
      const n = toks[j];
      if (n?.kind !== 'name') return j;
      into.push(n.value);
      j++;
      if (isOp(toks[j], '<') && toks[j + 1]?.kind === 'name' && isOp(toks[j + 2], '>')) j += 3;
      if (!isOp(toks[j], ',')) return j;
      j++;
    }
  };
  /** At `function` (index k): open its block, declare its parameters; returns the index after `)`. */
  const openFunction = (k: number): number => {
    let j = k + 1;
    let method = false;
    while (toks[j]?.kind === 'name' || isOp(toks[j], '.') || isOp(toks[j], ':')) {
      if (isOp(toks[j], ':')) method = true;
      j++;
    }
    fnDepth++;
    const params: string[] = method ? ['self'] : [];
    if (isOp(toks[j], '(')) {
      j = declareList(j + 1, params);
      if (isOp(toks[j], '...')) j++;
      if (isOp(toks[j], ')')) j++;
    }
    stack.push({ kind: 'block', names: new Set(params), fn: fnDepth });
    return j;
  };
  for (let k = 0; k < toks.length; ) {
    const t = toks[k]!;
    const ctx = top();
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'function': {
          const name = toks[k + 1];
          if (ctx.fn > 0 && name?.kind === 'name' && isOp(toks[k + 2], '(')) {
            if (topLocals.has(name.value)) return no(name, `assigns the top-level local ${name.value}`);
            if (!isLocal(name.value)) return no(name, `defines the global ${name.value} inside a function`);
          }
          k = openFunction(k);
          continue;
        }
        case 'local': {
          if (isKw(toks[k + 1], 'function')) {
            const name = toks[k + 2];
            if (ctx.fn > 0 && name?.kind === 'name') {
              if (topLocals.has(name.value)) return no(name, `re-declares the top-level local ${name.value}`);
              ctx.names.add(name.value);
            }
            k = openFunction(k + 1);
            continue;
          }
          const names: string[] = [];
          const j = declareList(k + 1, names);
          if (ctx.fn > 0) {
            for (const n of names) {
              if (topLocals.has(n)) return no(t, `re-declares the top-level local ${n}`);
              ctx.names.add(n);
            }
          }
          k = j;
          continue;
        }
        case 'for': {
          pending = [];
          const j = declareList(k + 1, pending);
          for (const n of pending) if (topLocals.has(n)) return no(t, `re-declares the top-level local ${n}`);
          k = j;
          continue;
        }
        case 'do':
          stack.push({ kind: 'block', names: new Set(pending), fn: ctx.fn });
          pending = [];
          k++;
          continue;
        case 'if':
        case 'repeat':
          stack.push({ kind: 'block', names: new Set(), fn: ctx.fn });
          k++;
          continue;
        case 'elseif':
        case 'else':
          ctx.names.clear();
          k++;
          continue;
        case 'end':
        case 'until': {
          const c = stack.pop();
          if (c === undefined || c.kind !== 'block' || stack.length === 0) return no(t, 'unbalanced blocks');
          if (c.fn > top().fn) fnDepth--;
          k++;
          continue;
        }
        default:
          k++;
          continue;
      }
    }
    if (t.kind === 'op') {
      if (t.value === '(' || t.value === '[' || t.value === '{')
        stack.push({ kind: 'bracket', names: new Set(), fn: ctx.fn });
      else if (t.value === ')' || t.value === ']' || t.value === '}') {
        const c = stack.pop();
        if (c === undefined || c.kind !== 'bracket' || stack.length === 0)
          return no(t, 'unbalanced brackets');
      }
      k++;
      continue;
    }
    if (t.kind !== 'name') {
      k++;
      continue;
    }
    const prev = toks[k - 1];
    const next = toks[k + 1];
    // Fields and constructor keys are not variables.
    if (isOp(prev, '.') || isOp(prev, ':') || isOp(prev, '::') || isKw(prev, 'goto')) {
      k++;
      continue;
    }
    if (
      ctx.kind === 'bracket' &&
      isOp(next, '=') &&
      (isOp(prev, '{') || isOp(prev, ',') || isOp(prev, ';'))
    ) {
      k++;
      continue;
    }
    if (ctx.kind === 'block' && ctx.fn > 0 && isAssignTarget(toks, k)) {
      if (topLocals.has(t.value)) return no(t, `assigns the top-level local ${t.value}`);
      if (!isLocal(t.value)) return no(t, `assigns the global ${t.value} inside a function`);
    }
    if (topFuncs.has(t.value) && ctx.fn > 0) {
      const called = isOp(next, '(') || isOp(next, '{') || next?.kind === 'string';
      if (!called) return no(t, `uses the top-level function ${t.value} as a value`);
    }
    k++;
  }
  return { reusable: true };
}
