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

const KEYWORDS = new Set([
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
      tokens.push({ kind: KEYWORDS.has(word) ? 'keyword' : 'name', value: word, line });
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
