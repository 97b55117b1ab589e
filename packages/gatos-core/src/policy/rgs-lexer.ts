/**
 * The `.rgs` lexer: source text to tokens with 1-based line and column. See `spec/policy-language.md` § 2.
 *
 * Tokens: identifiers `[A-Za-z_][A-Za-z0-9_]*` (keywords are identifiers the parser knows), double-quoted
 * strings with the escapes `\"` `\\` `\n` `\t`, integers `-?[0-9]+`, and the punctuation
 * `[ ] ( ) , . = == != < <= > >=`. `#` starts a comment to the end of the line. Errors are
 * `GATOS_E_POLICY_SYNTAX` with `data.line` / `data.column`.
 */
import { GatosError, type ErrorCode } from '../errors.js';

/** A token kind. */
export type RgsTokenKind = 'ident' | 'string' | 'int' | 'punct' | 'eof';

/** One token: `value` is the identifier, the unescaped string, the integer's digits, or the punctuation. */
export interface RgsToken {
  kind: RgsTokenKind;
  value: string;
  /** Offset of the first character in the source (UTF-16 index). */
  offset: number;
  line: number;
  column: number;
}

/** A 1-based position. */
export interface RgsPosition {
  line: number;
  column: number;
}

const PUNCT2 = new Set(['==', '!=', '<=', '>=']);
const PUNCT1 = new Set(['[', ']', '(', ')', ',', '.', '=', '<', '>']);

/** Line and column (in code points) of a UTF-16 offset. */
export function positionAt(source: string, offset: number): RgsPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: Array.from(source.slice(lineStart, offset)).length + 1 };
}

/**
 * A policy error at a source position, with the offending line and a caret under the column:
 * `file:3:12: message` / `  <line>` / `  ^`.
 */
export function policySourceError(
  code: ErrorCode,
  source: string,
  offset: number,
  message: string,
  file = '<policy>',
  hint?: string,
): GatosError {
  const { line, column } = positionAt(source, offset);
  const text = source.split('\n')[line - 1] ?? '';
  const caret = `${' '.repeat(column - 1)}^`;
  return new GatosError(code, `${file}:${line}:${column}: ${message}\n  ${text}\n  ${caret}`, {
    data: { file, line, column, detail: message },
    ...(hint === undefined ? {} : { hint }),
  });
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
const isIdentPart = (c: string | undefined): boolean => isIdentStart(c) || isDigit(c);

/** Splits `.rgs` source into tokens, ending with one `eof` token. */
export function lexRgs(source: string, file = '<policy>'): RgsToken[] {
  const out: RgsToken[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const n = source.length;
  const fail = (at: number, msg: string, hint?: string): GatosError =>
    policySourceError('GATOS_E_POLICY_SYNTAX', source, at, msg, file, hint);
  const push = (kind: RgsTokenKind, value: string, start: number): void => {
    out.push({ kind, value, offset: start, line, column: start - lineStart + 1 });
  };
  while (i < n) {
    const c = source[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(source[i])) i++;
      push('ident', source.slice(start, i), start);
      continue;
    }
    if (isDigit(c) || (c === '-' && isDigit(source[i + 1]))) {
      i++;
      while (i < n && isDigit(source[i])) i++;
      if (isIdentStart(source[i])) {
        let end = i;
        while (end < n && isIdentPart(source[end])) end++;
        throw fail(start, `bad integer ${JSON.stringify(source.slice(start, end))}`);
      }
      push('int', source.slice(start, i), start);
      continue;
    }
    if (c === '"') {
      i++;
      let value = '';
      for (;;) {
        if (i >= n || source[i] === '\n') {
          throw fail(start, 'unterminated string', 'close the string with " on the same line');
        }
        const ch = source[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = source[i + 1];
          if (e === '"' || e === '\\') value += e;
          else if (e === 'n') value += '\n';
          else if (e === 't') value += '\t';
          else throw fail(i, `unknown escape \\${e ?? ''}`, 'strings know the escapes \\" \\\\ \\n \\t');
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      // The token's column is computed from `start`, so push with the current line (strings are one line).
      push('string', value, start);
      continue;
    }
    const two = source.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      i += 2;
      push('punct', two, start);
      continue;
    }
    if (PUNCT1.has(c)) {
      i++;
      push('punct', c, start);
      continue;
    }
    throw fail(start, `unexpected character ${JSON.stringify(String.fromCodePoint(source.codePointAt(i)!))}`);
  }
  push('eof', '', n);
  return out;
}
