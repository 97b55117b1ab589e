/**
 * `.rgc`: the compiled policy. Plain data (the IR), encoded as canonical DAG-CBOR; its blake3-256 digest in
 * lowercase hex is the `policy_code_root`. See `spec/policy-language.md` § 5.
 *
 * The IR holds no source positions, comments or formatting: two sources that mean the same rules in the same order
 * compile to the same bytes.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { decodeCanonical, encodeCanonical } from '../encoding/canonical.js';
import { GatosError } from '../errors.js';

/** The format tag of the IR. */
export const RGC_FORMAT = 'gatos.rgc/1';

/** A path into the evaluator's input: `["ref"]`, `["actor"]`, `["event", "type"]`, `["event", "payload", "a"]`. */
export type RgcPath = readonly string[];

/** A literal scalar value. */
export type RgcScalar = string | number | boolean;

/** A value operand: a path into the input, or a literal (scalar or list of scalars). */
export type RgcOperand = readonly ['get', RgcPath] | readonly ['lit', RgcScalar | readonly RgcScalar[]];

/** A comparison operator. */
export type RgcCmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** A boolean expression, as a tagged array. */
export type RgcExpr =
  | readonly ['true']
  | readonly ['and', ...RgcExpr[]]
  | readonly ['or', ...RgcExpr[]]
  | readonly ['not', RgcExpr]
  | readonly ['cmp', RgcCmpOp, RgcOperand, RgcOperand]
  | readonly ['in', RgcOperand, RgcOperand]
  | readonly ['in_group', RgcOperand, string]
  | readonly ['matches', RgcOperand, string]
  | readonly ['exists', RgcPath]
  | readonly ['quorum', string, RgcCmpOp, number];

/** One rule. */
export interface RgcRule {
  id: string;
  effect: 'allow' | 'deny';
  when: RgcExpr;
  because: string;
}

/** A compiled policy. */
export interface Rgc {
  format: typeof RGC_FORMAT;
  name: string;
  version: number;
  /** Group name → its actors, sorted (code-unit order) and unique. */
  groups: Record<string, string[]>;
  /** Rules in source order. */
  rules: RgcRule[];
}

const CMP_OPS = new Set<string>(['==', '!=', '<', '<=', '>', '>=']);
/** Rule ids: `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`. */
export const RULE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Group and path-segment names. */
export const RGS_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The canonical `.rgc` bytes of an IR (validated first). */
export function encodeRgc(rgc: Rgc): Uint8Array {
  validateRgc(rgc);
  return encodeCanonical(rgc);
}

/** Strictly decodes `.rgc` bytes (canonical DAG-CBOR) and validates the IR. */
export function decodeRgc(bytes: Uint8Array): Rgc {
  const v = decodeCanonical(bytes);
  validateRgc(v);
  return v;
}

/** `policy_code_root`: lowercase hex blake3-256 of the `.rgc` bytes (64 characters). */
export function policyCodeRoot(rgcBytes: Uint8Array): string {
  return Buffer.from(blake3(rgcBytes)).toString('hex');
}

function bad(what: string): GatosError {
  return new GatosError('GATOS_E_POLICY_RGC', `malformed .rgc: ${what}`, { data: { detail: what } });
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isScalar = (v: unknown): v is RgcScalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));

function checkKeys(o: Record<string, unknown>, keys: string[], where: string): void {
  const have = Object.keys(o).sort();
  const want = [...keys].sort();
  if (have.length !== want.length || have.some((k, i) => k !== want[i])) {
    throw bad(`${where} has fields ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`);
  }
}

function checkPath(p: unknown, where: string): void {
  if (!Array.isArray(p) || p.length === 0 || !p.every((s) => typeof s === 'string' && RGS_NAME_RE.test(s))) {
    throw bad(`${where}: bad path`);
  }
  const root = p[0] as string;
  if (root === 'ref' || root === 'actor') {
    if (p.length !== 1) throw bad(`${where}: ${root} has no fields`);
  } else if (root !== 'event' || p.length < 2)
    throw bad(`${where}: path must start with ref, actor or event.<field>`);
}

function checkOperand(o: unknown, where: string): void {
  if (!Array.isArray(o) || o.length !== 2) throw bad(`${where}: bad operand`);
  if (o[0] === 'get') checkPath(o[1], where);
  else if (o[0] === 'lit') {
    const v = o[1];
    if (!(isScalar(v) || (Array.isArray(v) && v.every(isScalar)))) throw bad(`${where}: bad literal`);
  } else throw bad(`${where}: bad operand tag`);
}

function checkExpr(e: unknown, groups: Record<string, unknown>, where: string, depth: number): void {
  if (depth > 48) throw bad(`${where}: expression nests too deep`);
  if (!Array.isArray(e) || typeof e[0] !== 'string') throw bad(`${where}: expression is not a tagged array`);
  const arity = (n: number): void => {
    if (e.length !== n) throw bad(`${where}: ${e[0]} takes ${n - 1} arguments`);
  };
  const group = (g: unknown): void => {
    if (typeof g !== 'string' || !Object.hasOwn(groups, g)) throw bad(`${where}: unknown group ${String(g)}`);
  };
  switch (e[0]) {
    case 'true':
      arity(1);
      return;
    case 'and':
    case 'or':
      if (e.length < 3) throw bad(`${where}: ${e[0]} needs two or more operands`);
      for (const x of e.slice(1)) checkExpr(x, groups, where, depth + 1);
      return;
    case 'not':
      arity(2);
      checkExpr(e[1], groups, where, depth + 1);
      return;
    case 'cmp':
      arity(4);
      if (!CMP_OPS.has(e[1])) throw bad(`${where}: bad operator`);
      checkOperand(e[2], where);
      checkOperand(e[3], where);
      return;
    case 'in':
      arity(3);
      checkOperand(e[1], where);
      checkOperand(e[2], where);
      return;
    case 'in_group':
      arity(3);
      checkOperand(e[1], where);
      group(e[2]);
      return;
    case 'matches':
      arity(3);
      checkOperand(e[1], where);
      if (typeof e[2] !== 'string' || globError(e[2]) !== null) throw bad(`${where}: bad glob`);
      return;
    case 'exists':
      arity(2);
      checkPath(e[1], where);
      return;
    case 'quorum':
      arity(4);
      group(e[1]);
      if (!CMP_OPS.has(e[2]) || !Number.isSafeInteger(e[3]) || e[3] < 0) throw bad(`${where}: bad quorum`);
      return;
    default:
      throw bad(`${where}: unknown expression tag ${JSON.stringify(e[0])}`);
  }
}

/** Throws `GATOS_E_POLICY_RGC` unless `v` is a well-formed IR. */
export function validateRgc(v: unknown): asserts v is Rgc {
  if (!isObj(v)) throw bad('not a map');
  checkKeys(v, ['format', 'name', 'version', 'groups', 'rules'], 'policy');
  if (v.format !== RGC_FORMAT) throw bad(`format is ${JSON.stringify(v.format)}, expected ${RGC_FORMAT}`);
  if (typeof v.name !== 'string' || v.name === '') throw bad('name');
  if (!Number.isSafeInteger(v.version) || (v.version as number) < 1) throw bad('version');
  if (!isObj(v.groups)) throw bad('groups');
  for (const [g, members] of Object.entries(v.groups)) {
    if (!RGS_NAME_RE.test(g)) throw bad(`group name ${JSON.stringify(g)}`);
    if (!Array.isArray(members) || !members.every((m) => typeof m === 'string')) throw bad(`group ${g}`);
    for (let i = 1; i < members.length; i++) {
      if (!((members[i - 1] as string) < (members[i] as string)))
        throw bad(`group ${g} is not sorted and unique`);
    }
  }
  if (!Array.isArray(v.rules)) throw bad('rules');
  const ids = new Set<string>();
  for (const r of v.rules) {
    if (!isObj(r)) throw bad('rule is not a map');
    checkKeys(r, ['id', 'effect', 'when', 'because'], 'rule');
    if (typeof r.id !== 'string' || !RULE_ID_RE.test(r.id) || ids.has(r.id))
      throw bad(`rule id ${String(r.id)}`);
    ids.add(r.id);
    if (r.effect !== 'allow' && r.effect !== 'deny') throw bad(`rule ${r.id}: effect`);
    if (typeof r.because !== 'string') throw bad(`rule ${r.id}: because`);
    checkExpr(r.when, v.groups, `rule ${r.id}`, 0);
  }
}

/**
 * Why a glob pattern is invalid, or null. Patterns are `/`-separated components; a component is `**` (any number
 * of components, zero included) or text where `*` matches any characters except `/`. Empty components are invalid.
 */
export function globError(pattern: string): string | null {
  if (pattern === '') return 'empty pattern';
  for (const c of pattern.split('/')) {
    if (c === '') return 'empty component (leading, trailing or double /)';
    if (c !== '**' && c.includes('**')) return '** must be a whole component';
  }
  if (pattern.includes('**/**')) return '** must not follow **';
  return null;
}

/** Compiles a valid glob to a RegExp anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  const comps = pattern.split('/');
  let re = '^';
  comps.forEach((c, i) => {
    const last = i === comps.length - 1;
    if (c === '**') {
      if (i === 0) re += last ? '.*' : '(?:[^/]+/)*';
      else re += '(?:/[^/]+)*';
      return;
    }
    if (i > 0 && !(i === 1 && comps[0] === '**')) re += '/';
    if (c === '*') {
      re += '[^/]+';
      return;
    }
    re += c
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
  });
  return new RegExp(`${re}$`, 'u');
}

const q = (s: string): string => JSON.stringify(s);

/** An operand as `.rgs` source. */
export function renderOperand(o: RgcOperand): string {
  if (o[0] === 'get') return renderPath(o[1]);
  const v = o[1];
  return Array.isArray(v) ? `[${v.map((x) => renderScalar(x)).join(', ')}]` : renderScalar(v as RgcScalar);
}

function renderScalar(v: RgcScalar): string {
  return typeof v === 'string' ? q(v) : String(v);
}

/** A path as `.rgs` source (`event.payload.x` is written `payload.x`, `event.caps` is written `caps`). */
export function renderPath(p: RgcPath): string {
  if (p[0] === 'event' && p[1] === 'payload' && p.length > 2) return `payload.${p.slice(2).join('.')}`;
  if (p[0] === 'event' && p[1] === 'caps' && p.length === 2) return 'caps';
  return p.join('.');
}

/** An expression as `.rgs` source, fully parenthesized where `and`/`or` nest. */
export function renderExpr(e: RgcExpr): string {
  const sub = (x: RgcExpr): string =>
    x[0] === 'and' || x[0] === 'or' ? `(${renderExpr(x)})` : renderExpr(x);
  switch (e[0]) {
    case 'true':
      return 'true';
    case 'and':
    case 'or':
      return (e.slice(1) as RgcExpr[]).map(sub).join(` ${e[0]} `);
    case 'not':
      return `not ${sub(e[1])}`;
    case 'cmp':
      return `${renderOperand(e[2])} ${e[1]} ${renderOperand(e[3])}`;
    case 'in':
      return `${renderOperand(e[1])} in ${renderOperand(e[2])}`;
    case 'in_group':
      return `${renderOperand(e[1])} in group ${e[2]}`;
    case 'matches':
      return `${renderOperand(e[1])} matches ${q(e[2])}`;
    case 'exists':
      return `${renderPath(e[1])} exists`;
    case 'quorum':
      return `approvals(group ${e[1]}) ${e[2]} ${e[3]}`;
  }
}
