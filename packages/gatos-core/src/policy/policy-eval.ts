/**
 * The pure policy evaluator: a compiled policy and one request in, a decision out. No I/O, no clock, no
 * randomness; every expression is evaluated at most once, so evaluation is linear in the size of the policy.
 *
 * Semantics (`spec/policy-language.md` § 4): every rule is evaluated in source order; an error in any rule, or a
 * malformed input, denies (fail closed); a matching deny rule denies; otherwise a matching allow rule allows;
 * otherwise the request is denied with "no rule allows".
 */
import {
  decodeRgc,
  globToRegExp,
  renderExpr,
  renderOperand,
  renderPath,
  type Rgc,
  type RgcCmpOp,
  type RgcExpr,
  type RgcOperand,
  type RgcPath,
} from './rgc.js';

/** One approval: an actor and the ed25519 public key (64 hex) it approved with. */
export interface PolicyApproval {
  actor: string;
  publicKey: string;
}

/** What the evaluator decides about. */
export interface PolicyInput {
  /** The target ref. */
  ref: string;
  /** Who asks. */
  actor: string;
  /** The event, if the request carries one: `type`, `caps`, `payload` and any other envelope field. */
  event?: { type?: string; caps?: readonly string[]; payload?: unknown; [field: string]: unknown };
  /** Approvals given (already signature-checked by the caller). */
  approvals?: readonly PolicyApproval[];
  /**
   * The registered public keys of each actor (hex). When given, an approval counts only if its key is registered
   * for its actor.
   */
  keysByActor?: Readonly<Record<string, readonly string[]>>;
}

/** An evaluation error, with the rule it happened in (`null`: the input itself). */
export interface PolicyEvalError {
  rule: string | null;
  message: string;
}

/** A rule whose condition held. */
export interface PolicyMatch {
  rule: string;
  effect: 'allow' | 'deny';
  because: string;
}

/** The decision. */
export interface PolicyDecision {
  decision: 'allow' | 'deny';
  /** The deciding rule; `null` for the default deny or a malformed input. */
  rule: string | null;
  reason: string;
  /** Every rule whose condition held, in source order. */
  matched: PolicyMatch[];
  /** Every rule that failed to evaluate, in source order (any error denies). */
  errors: PolicyEvalError[];
}

/** How one condition fared, for `policy explain`. */
export interface ExplainNode {
  /** The condition as `.rgs` source. */
  text: string;
  /** `skipped`: not evaluated because `and`/`or` had already decided. */
  result: 'true' | 'false' | 'error' | 'skipped';
  /** Facts that decided a leaf, in words (`payload.volume_ul is 1500`) or the error. */
  detail?: string;
  children?: ExplainNode[];
}

/** One rule's explanation. */
export interface RuleExplanation {
  rule: string;
  effect: 'allow' | 'deny';
  because: string;
  outcome: 'match' | 'no-match' | 'error';
  error?: string;
  condition: ExplainNode;
}

/** The decision and every rule's explanation. */
export interface PolicyExplanation extends PolicyDecision {
  rules: RuleExplanation[];
  inputErrors: string[];
}

/** A condition could not be evaluated (missing field, type mismatch). */
class ConditionError extends Error {}

const MISSING: unique symbol = Symbol('missing');
type Value = unknown;
const HEX64 = /^[0-9a-fA-F]{64}$/;

interface Ctx {
  root: Record<string, unknown>;
  rgc: Rgc;
  approvals: readonly PolicyApproval[];
  keysByActor: Readonly<Record<string, readonly string[]>> | undefined;
}

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re === undefined) {
    if (globCache.size > 4096) globCache.clear();
    re = globToRegExp(pattern);
    globCache.set(pattern, re);
  }
  return re;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Own properties only: `payload.constructor` or `payload.__proto__` never reach the prototype. */
function lookup(root: Record<string, unknown>, path: RgcPath): Value | typeof MISSING {
  let cur: unknown = root;
  for (const seg of path) {
    if (!isRecord(cur) || !Object.hasOwn(cur, seg)) return MISSING;
    cur = cur[seg];
  }
  return cur === undefined ? MISSING : cur;
}

function show(v: Value): string {
  if (typeof v === 'bigint') return `${v}`;
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function operand(ctx: Ctx, o: RgcOperand): Value {
  if (o[0] === 'lit') return o[1];
  const v = lookup(ctx.root, o[1]);
  if (v === MISSING) throw new ConditionError(`${renderPath(o[1])} is missing`);
  return v;
}

const isInt = (v: unknown): v is number | bigint =>
  (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint';

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (isInt(a) && isInt(b)) return BigInt(a) === BigInt(b);
  if (typeof a !== typeof b || a === null || b === null) return a === b;
  if (typeof a !== 'object') return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((x, i) => x === b[i])
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.hasOwn(b as object, k) &&
        equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/** Code-point order of strings (UTF-16 order differs above U+FFFF). */
function compareStrings(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function ordered(op: RgcCmpOp, c: number): boolean {
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
  }
}

function compare(op: RgcCmpOp, a: Value, b: Value): boolean {
  if (op === '==') return equal(a, b);
  if (op === '!=') return !equal(a, b);
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    return ordered(op, a - b);
  }
  if (isInt(a) && isInt(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return ordered(op, x < y ? -1 : x > y ? 1 : 0);
  }
  if (typeof a === 'string' && typeof b === 'string') return ordered(op, compareStrings(a, b));
  throw new ConditionError(
    `cannot order ${show(a)} ${op} ${show(b)}: both sides must be integers or both strings`,
  );
}

function quorum(ctx: Ctx, group: string): number {
  const members = ctx.rgc.groups[group] ?? [];
  const keys = new Set<string>();
  for (const a of ctx.approvals) {
    if (!members.includes(a.actor)) continue;
    const pk = a.publicKey.toLowerCase();
    if (ctx.keysByActor !== undefined) {
      const registered = Object.hasOwn(ctx.keysByActor, a.actor) ? ctx.keysByActor[a.actor] : undefined;
      if (!registered?.some((k) => k.toLowerCase() === pk)) continue;
    }
    keys.add(pk);
  }
  return keys.size;
}

/** Evaluates a leaf; returns its truth and, when `why` is set, the facts in words. */
function leaf(ctx: Ctx, e: RgcExpr, why?: string[]): boolean {
  const say = (s: string): void => {
    why?.push(s);
  };
  const saw = (o: RgcOperand, v: Value): void => {
    if (o[0] === 'get') say(`${renderOperand(o)} is ${show(v)}`);
  };
  switch (e[0]) {
    case 'true':
      return true;
    case 'cmp': {
      const a = operand(ctx, e[2]);
      saw(e[2], a);
      const b = operand(ctx, e[3]);
      saw(e[3], b);
      return compare(e[1], a, b);
    }
    case 'in': {
      const a = operand(ctx, e[1]);
      saw(e[1], a);
      const list = operand(ctx, e[2]);
      saw(e[2], list);
      if (!Array.isArray(list)) throw new ConditionError(`${renderOperand(e[2])} is not a list`);
      return list.some((x) => equal(a, x));
    }
    case 'in_group': {
      const a = operand(ctx, e[1]);
      saw(e[1], a);
      return typeof a === 'string' && (ctx.rgc.groups[e[2]] ?? []).includes(a);
    }
    case 'matches': {
      const a = operand(ctx, e[1]);
      saw(e[1], a);
      if (typeof a !== 'string') throw new ConditionError(`${renderOperand(e[1])} is not a string`);
      return glob(e[2]).test(a);
    }
    case 'exists': {
      const v = lookup(ctx.root, e[1]);
      say(v === MISSING ? `${renderPath(e[1])} is missing` : `${renderPath(e[1])} is ${show(v)}`);
      return v !== MISSING;
    }
    case 'quorum': {
      const n = quorum(ctx, e[1]);
      say(`${n} distinct key${n === 1 ? '' : 's'} of group ${e[1]} approved`);
      return ordered(e[2], n - e[3]);
    }
    default:
      throw new ConditionError(`not a leaf: ${e[0]}`);
  }
}

function evalExpr(ctx: Ctx, e: RgcExpr): boolean {
  switch (e[0]) {
    case 'and':
      for (let i = 1; i < e.length; i++) if (!evalExpr(ctx, e[i] as RgcExpr)) return false;
      return true;
    case 'or':
      for (let i = 1; i < e.length; i++) if (evalExpr(ctx, e[i] as RgcExpr)) return true;
      return false;
    case 'not':
      return !evalExpr(ctx, e[1]);
    default:
      return leaf(ctx, e);
  }
}

function skipped(e: RgcExpr): ExplainNode {
  return e[0] === 'and' || e[0] === 'or'
    ? { text: renderExpr(e), result: 'skipped', children: (e.slice(1) as RgcExpr[]).map(skipped) }
    : { text: renderExpr(e), result: 'skipped' };
}

/** Like {@link evalExpr}, recording each node; an error is recorded and rethrown. */
function explainExpr(ctx: Ctx, e: RgcExpr): { value: boolean; node: ExplainNode } {
  const text = renderExpr(e);
  if (e[0] === 'and' || e[0] === 'or') {
    const children: ExplainNode[] = [];
    let value = e[0] === 'and';
    let decided = false;
    let failure: unknown;
    for (const c of e.slice(1) as RgcExpr[]) {
      if (decided || failure !== undefined) {
        children.push(skipped(c));
        continue;
      }
      try {
        const r = explainExpr(ctx, c);
        children.push(r.node);
        if (r.value !== (e[0] === 'and')) {
          value = r.value;
          decided = true;
        }
      } catch (err) {
        failure = err;
        children.push((err as { node?: ExplainNode }).node ?? { text: renderExpr(c), result: 'error' });
      }
    }
    const node: ExplainNode = {
      text,
      result: failure === undefined ? (value ? 'true' : 'false') : 'error',
      children,
    };
    if (failure !== undefined) throw Object.assign(failure as object, { node });
    return { value, node };
  }
  if (e[0] === 'not') {
    try {
      const r = explainExpr(ctx, e[1]);
      return { value: !r.value, node: { text, result: r.value ? 'false' : 'true', children: [r.node] } };
    } catch (err) {
      const inner = (err as { node?: ExplainNode }).node ?? {
        text: renderExpr(e[1]),
        result: 'error' as const,
      };
      throw Object.assign(err as object, { node: { text, result: 'error', children: [inner] } });
    }
  }
  const why: string[] = [];
  try {
    const value = leaf(ctx, e, why);
    return {
      value,
      node: { text, result: value ? 'true' : 'false', ...(why.length ? { detail: why.join('; ') } : {}) },
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw Object.assign(err as object, { node: { text, result: 'error', detail: msg } });
  }
}

/** Problems with the input's shape (each one denies). */
export function policyInputErrors(input: unknown): string[] {
  const errs: string[] = [];
  if (!isRecord(input)) return ['input is not an object'];
  if (typeof input.ref !== 'string') errs.push('input.ref is not a string');
  if (typeof input.actor !== 'string') errs.push('input.actor is not a string');
  if (input.event !== undefined) {
    if (!isRecord(input.event)) errs.push('input.event is not an object');
    else {
      const ev = input.event;
      if (ev.type !== undefined && typeof ev.type !== 'string') errs.push('input.event.type is not a string');
      if (ev.caps !== undefined && !(Array.isArray(ev.caps) && ev.caps.every((c) => typeof c === 'string'))) {
        errs.push('input.event.caps is not a list of strings');
      }
    }
  }
  if (input.approvals !== undefined) {
    if (!Array.isArray(input.approvals)) errs.push('input.approvals is not a list');
    else
      input.approvals.forEach((a: unknown, i) => {
        if (
          !isRecord(a) ||
          typeof a.actor !== 'string' ||
          typeof a.publicKey !== 'string' ||
          !HEX64.test(a.publicKey)
        ) {
          errs.push(`input.approvals[${i}] is not {actor, publicKey: 64 hex}`);
        }
      });
  }
  if (input.keysByActor !== undefined) {
    const k = input.keysByActor;
    if (
      !isRecord(k) ||
      !Object.values(k).every((l) => Array.isArray(l) && l.every((x) => typeof x === 'string'))
    ) {
      errs.push('input.keysByActor is not a map of actor to lists of hex keys');
    }
  }
  return errs;
}

function context(rgc: Rgc, input: PolicyInput): Ctx {
  const event = input.event === undefined ? undefined : { ...input.event, caps: input.event.caps ?? [] };
  const root: Record<string, unknown> = { ref: input.ref, actor: input.actor };
  if (event !== undefined) root.event = event;
  return { root, rgc, approvals: input.approvals ?? [], keysByActor: input.keysByActor };
}

function decide(
  rgc: Rgc,
  results: ReadonlyArray<{ outcome: 'match' | 'no-match' | 'error'; error?: string }>,
  inputErrors: string[],
): PolicyDecision {
  const matched: PolicyMatch[] = [];
  const errors: PolicyEvalError[] = inputErrors.map((message) => ({ rule: null, message }));
  rgc.rules.forEach((r, i) => {
    const res = results[i];
    if (res?.outcome === 'match') matched.push({ rule: r.id, effect: r.effect, because: r.because });
    else if (res?.outcome === 'error') errors.push({ rule: r.id, message: res.error ?? 'error' });
  });
  if (inputErrors.length) {
    return {
      decision: 'deny',
      rule: null,
      reason: `invalid input: ${inputErrors.join('; ')}`,
      matched,
      errors,
    };
  }
  const deny = matched.find((m) => m.effect === 'deny');
  if (deny) return { decision: 'deny', rule: deny.rule, reason: deny.because, matched, errors };
  const err = errors[0];
  if (err) {
    return {
      decision: 'deny',
      rule: err.rule,
      reason: `evaluation error in rule "${err.rule}": ${err.message}`,
      matched,
      errors,
    };
  }
  const allow = matched.find((m) => m.effect === 'allow');
  if (allow) return { decision: 'allow', rule: allow.rule, reason: allow.because, matched, errors };
  return { decision: 'deny', rule: null, reason: 'no rule allows', matched, errors };
}

const asRgc = (rgc: Rgc | Uint8Array): Rgc => (rgc instanceof Uint8Array ? decodeRgc(rgc) : rgc);

/**
 * Decides a request. `rgc` is the IR (trusted: from {@link compileRgs} or {@link decodeRgc}) or `.rgc` bytes
 * (decoded and validated; malformed bytes throw `GATOS_E_POLICY_RGC`). Never throws for any `input`: a malformed
 * input or an evaluation error is a deny.
 */
export function evaluatePolicy(rgc: Rgc | Uint8Array, input: PolicyInput): PolicyDecision {
  const p = asRgc(rgc);
  const inputErrors = policyInputErrors(input);
  if (inputErrors.length) return decide(p, [], inputErrors);
  const ctx = context(p, input);
  const results = p.rules.map((r) => {
    try {
      return { outcome: evalExpr(ctx, r.when) ? ('match' as const) : ('no-match' as const) };
    } catch (e) {
      return { outcome: 'error' as const, error: e instanceof Error ? e.message : String(e) };
    }
  });
  return decide(p, results, []);
}

/** Like {@link evaluatePolicy}, and shows for every rule whether each condition held, and why. */
export function explainPolicy(rgc: Rgc | Uint8Array, input: PolicyInput): PolicyExplanation {
  const p = asRgc(rgc);
  const inputErrors = policyInputErrors(input);
  if (inputErrors.length) {
    const rules = p.rules.map((r) => ({
      rule: r.id,
      effect: r.effect,
      because: r.because,
      outcome: 'no-match' as const,
      condition: skipped(r.when),
    }));
    return { ...decide(p, [], inputErrors), rules, inputErrors };
  }
  const ctx = context(p, input);
  const rules: RuleExplanation[] = p.rules.map((r) => {
    const base = { rule: r.id, effect: r.effect, because: r.because };
    try {
      const { value, node } = explainExpr(ctx, r.when);
      return { ...base, outcome: value ? 'match' : 'no-match', condition: node };
    } catch (e) {
      const node = (e as { node?: ExplainNode }).node ?? {
        text: renderExpr(r.when),
        result: 'error' as const,
      };
      return {
        ...base,
        outcome: 'error',
        error: e instanceof Error ? e.message : String(e),
        condition: node,
      };
    }
  });
  return { ...decide(p, rules, []), rules, inputErrors };
}

/** An explanation in words, one line per rule and per condition. */
export function renderExplanation(x: PolicyExplanation): string[] {
  const lines: string[] = [];
  const mark = { true: 'yes', false: 'no ', error: 'ERR', skipped: ' - ' } as const;
  const walk = (n: ExplainNode, indent: string): void => {
    lines.push(`${indent}[${mark[n.result]}] ${n.text}${n.detail ? `   (${n.detail})` : ''}`);
    for (const c of n.children ?? []) walk(c, `${indent}    `);
  };
  for (const e of x.inputErrors) lines.push(`input error: ${e}`);
  for (const r of x.rules) {
    const what =
      r.outcome === 'match'
        ? `applies: ${r.effect}`
        : r.outcome === 'error'
          ? `ERROR (fails closed: deny): ${r.error}`
          : 'does not apply';
    lines.push(`rule "${r.rule}" (${r.effect}) ${what}`);
    if (r.condition.text !== 'true' || r.condition.result !== 'true') walk(r.condition, '    ');
    else lines.push('    (no condition: always applies)');
  }
  lines.push(`decision: ${x.decision.toUpperCase()}${x.rule ? ` by rule "${x.rule}"` : ''}: ${x.reason}`);
  return lines;
}
