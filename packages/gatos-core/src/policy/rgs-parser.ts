/**
 * The `.rgs` parser and compiler: source text → IR ({@link Rgc}) → canonical `.rgc` bytes and `policy_code_root`.
 * Grammar and semantics: `spec/policy-language.md`. Syntax errors are `GATOS_E_POLICY_SYNTAX`, semantic ones
 * (unknown group, duplicate rule id, bad integer, …) `GATOS_E_POLICY_COMPILE`; both carry `data.line`/`data.column`
 * and a caret under the offending token.
 */
import { ENVELOPE_ACTOR_RE } from '../events/event-envelope.js';
import type { ErrorCode } from '../errors.js';
import {
  encodeRgc,
  globError,
  policyCodeRoot,
  RGC_FORMAT,
  RULE_ID_RE,
  type Rgc,
  type RgcCmpOp,
  type RgcExpr,
  type RgcOperand,
  type RgcPath,
  type RgcRule,
  type RgcScalar,
} from './rgc.js';
import { lexRgs, policySourceError, type RgsToken } from './rgs-lexer.js';

/** Options of {@link compileRgs}. */
export interface CompileRgsOptions {
  /** The file name used in error messages. */
  file?: string;
}

/** A compiled policy: IR, `.rgc` bytes and their root. */
export interface CompiledPolicy {
  rgc: Rgc;
  bytes: Uint8Array;
  /** Lowercase hex blake3-256 of `bytes`. */
  policyCodeRoot: string;
}

/** Words that cannot name a group. */
export const RGS_KEYWORDS: ReadonlySet<string> = new Set([
  'policy',
  'version',
  'group',
  'rule',
  'allow',
  'deny',
  'when',
  'because',
  'and',
  'or',
  'not',
  'in',
  'matches',
  'exists',
  'approvals',
  'true',
  'false',
  'ref',
  'actor',
  'caps',
  'event',
  'payload',
]);

const CMP = new Set(['==', '!=', '<', '<=', '>', '>=']);
const INT_RE = /^(?:0|-?[1-9][0-9]*)$/;

class Parser {
  private pos = 0;
  private readonly groups = new Map<string, string[]>();

  constructor(
    private readonly toks: RgsToken[],
    private readonly source: string,
    private readonly file: string,
  ) {}

  private get tok(): RgsToken {
    return this.toks[this.pos]!;
  }

  private error(code: ErrorCode, t: RgsToken, msg: string, hint?: string): Error {
    return policySourceError(code, this.source, t.offset, msg, this.file, hint);
  }

  private syntax(t: RgsToken, msg: string, hint?: string): Error {
    return this.error('GATOS_E_POLICY_SYNTAX', t, msg, hint);
  }

  private compile(t: RgsToken, msg: string, hint?: string): Error {
    return this.error('GATOS_E_POLICY_COMPILE', t, msg, hint);
  }

  private describe(t: RgsToken): string {
    if (t.kind === 'eof') return 'end of file';
    if (t.kind === 'string') return `string ${JSON.stringify(t.value)}`;
    if (t.kind === 'int') return `integer ${t.value}`;
    return `"${t.value}"`;
  }

  private isWord(w: string): boolean {
    return this.tok.kind === 'ident' && this.tok.value === w;
  }

  private isPunct(p: string): boolean {
    return this.tok.kind === 'punct' && this.tok.value === p;
  }

  private word(w: string): RgsToken {
    if (!this.isWord(w)) throw this.syntax(this.tok, `expected "${w}", found ${this.describe(this.tok)}`);
    return this.toks[this.pos++]!;
  }

  private punct(p: string): RgsToken {
    if (!this.isPunct(p)) throw this.syntax(this.tok, `expected "${p}", found ${this.describe(this.tok)}`);
    return this.toks[this.pos++]!;
  }

  private string(what: string): RgsToken {
    if (this.tok.kind !== 'string') {
      throw this.syntax(this.tok, `expected ${what} (a "string"), found ${this.describe(this.tok)}`);
    }
    return this.toks[this.pos++]!;
  }

  private int(what: string): { tok: RgsToken; value: number } {
    const t = this.tok;
    if (t.kind !== 'int') throw this.syntax(t, `expected ${what} (an integer), found ${this.describe(t)}`);
    this.pos++;
    if (!INT_RE.test(t.value))
      throw this.compile(t, `bad integer ${t.value}`, 'write integers without leading zeros or -0');
    const value = Number(t.value);
    if (!Number.isSafeInteger(value)) throw this.compile(t, `integer ${t.value} is beyond ±(2^53−1)`);
    return { tok: t, value };
  }

  private name(what: string): RgsToken {
    const t = this.tok;
    if (t.kind !== 'ident') throw this.syntax(t, `expected ${what}, found ${this.describe(t)}`);
    this.pos++;
    return t;
  }

  parsePolicy(): Rgc {
    this.word('policy');
    const nameTok = this.string('the policy name');
    if (nameTok.value === '') throw this.compile(nameTok, 'the policy name is empty');
    this.word('version');
    const version = this.int('the policy version');
    if (version.value < 1) throw this.compile(version.tok, 'the policy version must be 1 or more');
    while (this.isWord('group')) this.parseGroup();
    const rules: RgcRule[] = [];
    const ids = new Set<string>();
    while (this.isWord('rule')) {
      const r = this.parseRule(ids);
      rules.push(r);
    }
    if (this.tok.kind !== 'eof') {
      const hint = this.isWord('group') ? 'groups are defined before the first rule' : undefined;
      throw this.syntax(this.tok, `expected "rule" or end of file, found ${this.describe(this.tok)}`, hint);
    }
    const groups: Record<string, string[]> = {};
    for (const g of [...this.groups.keys()].sort()) groups[g] = this.groups.get(g)!;
    return { format: RGC_FORMAT, name: nameTok.value, version: version.value, groups, rules };
  }

  private parseGroup(): void {
    this.word('group');
    const n = this.name('a group name');
    if (RGS_KEYWORDS.has(n.value)) throw this.compile(n, `"${n.value}" is a keyword and cannot name a group`);
    if (this.groups.has(n.value)) throw this.compile(n, `duplicate group ${n.value}`);
    this.punct('=');
    this.punct('[');
    const members = new Set<string>();
    while (!this.isPunct(']')) {
      const m = this.string('an actor');
      if (!ENVELOPE_ACTOR_RE.test(m.value)) {
        throw this.compile(
          m,
          `${JSON.stringify(m.value)} is not an actor`,
          'actors are user:<name>, agent:<name> or service:<name>',
        );
      }
      if (members.has(m.value))
        throw this.compile(m, `${JSON.stringify(m.value)} is listed twice in group ${n.value}`);
      members.add(m.value);
      if (!this.isPunct(',')) break;
      this.pos++;
    }
    this.punct(']');
    this.groups.set(n.value, [...members].sort());
  }

  private parseRule(ids: Set<string>): RgcRule {
    this.word('rule');
    const idTok = this.string('the rule id');
    if (!RULE_ID_RE.test(idTok.value)) {
      throw this.compile(
        idTok,
        `bad rule id ${JSON.stringify(idTok.value)}`,
        'rule ids match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}',
      );
    }
    if (ids.has(idTok.value)) throw this.compile(idTok, `duplicate rule id ${JSON.stringify(idTok.value)}`);
    ids.add(idTok.value);
    let effect: 'allow' | 'deny';
    if (this.isWord('allow') || this.isWord('deny'))
      effect = this.toks[this.pos++]!.value as 'allow' | 'deny';
    else throw this.syntax(this.tok, `expected "allow" or "deny", found ${this.describe(this.tok)}`);
    let when: RgcExpr = ['true'];
    if (this.isWord('when')) {
      this.pos++;
      when = this.parseExpr(0);
    }
    if (!this.isWord('because')) {
      throw this.syntax(
        this.tok,
        `expected "because", found ${this.describe(this.tok)}`,
        'every rule ends with because "<reason>"',
      );
    }
    this.pos++;
    const because = this.string('the reason').value;
    return { id: idTok.value, effect, when, because };
  }

  /** `a and b and c` or `a or b or c`; mixing the two needs parentheses. */
  private parseExpr(depth: number): RgcExpr {
    if (depth > 32) throw this.compile(this.tok, 'expression nests deeper than 32 levels');
    const first = this.parseUnary(depth);
    if (!this.isWord('and') && !this.isWord('or')) return first;
    const op = this.tok.value as 'and' | 'or';
    const items: RgcExpr[] = [first];
    while (this.isWord('and') || this.isWord('or')) {
      if (this.tok.value !== op) {
        throw this.syntax(
          this.tok,
          `"${this.tok.value}" after "${op}" needs parentheses`,
          'and/or do not mix without parentheses: write (a or b) and c, or a or (b and c)',
        );
      }
      this.pos++;
      items.push(this.parseUnary(depth));
    }
    return [op, ...items] as RgcExpr;
  }

  private parseUnary(depth: number): RgcExpr {
    if (depth > 32) throw this.compile(this.tok, 'expression nests deeper than 32 levels');
    if (this.isWord('not')) {
      this.pos++;
      return ['not', this.parseUnary(depth + 1)];
    }
    if (this.isPunct('(')) {
      this.pos++;
      const e = this.parseExpr(depth + 1);
      this.punct(')');
      return e;
    }
    return this.parseCondition();
  }

  private groupRef(): string {
    this.word('group');
    const g = this.name('a group name');
    if (!this.groups.has(g.value)) {
      const known = [...this.groups.keys()].sort();
      throw this.compile(
        g,
        `unknown group ${g.value}`,
        known.length ? `defined groups: ${known.join(', ')}` : 'no group is defined',
      );
    }
    return g.value;
  }

  private cmpOp(): RgcCmpOp {
    if (this.tok.kind === 'punct' && CMP.has(this.tok.value)) return this.toks[this.pos++]!.value as RgcCmpOp;
    throw this.syntax(this.tok, `expected a comparison (== != < <= > >=), found ${this.describe(this.tok)}`);
  }

  private parseCondition(): RgcExpr {
    const start = this.tok;
    if (this.isWord('approvals')) {
      this.pos++;
      this.punct('(');
      const g = this.groupRef();
      this.punct(')');
      const op = this.cmpOp();
      const n = this.int('the number of approvals');
      if (n.value < 0) throw this.compile(n.tok, 'a number of approvals is 0 or more');
      return ['quorum', g, op, n.value];
    }
    const left = this.parseOperand();
    if (this.isWord('exists')) {
      if (left[0] !== 'get') throw this.compile(start, '"exists" applies to a field, not a literal');
      this.pos++;
      return ['exists', left[1]];
    }
    if (this.isWord('matches')) {
      this.pos++;
      const p = this.string('a glob pattern');
      if (left[0] !== 'get') throw this.compile(start, '"matches" applies to a field, not a literal');
      const why = globError(p.value);
      if (why !== null) throw this.compile(p, `bad glob ${JSON.stringify(p.value)}: ${why}`);
      return ['matches', left, p.value];
    }
    if (this.isWord('in')) {
      this.pos++;
      if (this.isWord('group')) return ['in_group', left, this.groupRef()];
      const rt = this.tok;
      const right = this.parseOperand(true);
      if (left[0] === 'lit' && right[0] === 'lit')
        throw this.compile(rt, 'both sides are literals: the condition is constant');
      if (right[0] === 'lit' && !Array.isArray(right[1]))
        throw this.compile(rt, '"in" needs a list [..], a group or a field on its right');
      return ['in', left, right];
    }
    if (this.tok.kind === 'punct' && CMP.has(this.tok.value)) {
      const opTok = this.tok;
      const op = this.cmpOp();
      const rt = this.tok;
      const right = this.parseOperand();
      if (left[0] === 'lit' && right[0] === 'lit')
        throw this.compile(rt, 'both sides are literals: the condition is constant');
      if (op !== '==' && op !== '!=') {
        for (const o of [left, right]) {
          if (o[0] === 'lit' && typeof o[1] === 'boolean')
            throw this.compile(opTok, `"${op}" orders integers or strings, not booleans`);
        }
      }
      return ['cmp', op, left, right];
    }
    throw this.syntax(
      this.tok,
      `expected a condition operator (== != < <= > >= in matches exists) after ${this.describe(start)}, found ${this.describe(this.tok)}`,
    );
  }

  private scalar(): RgcScalar {
    const t = this.tok;
    if (t.kind === 'string') {
      this.pos++;
      return t.value;
    }
    if (t.kind === 'int') return this.int('an integer').value;
    if (this.isWord('true') || this.isWord('false')) {
      this.pos++;
      return t.value === 'true';
    }
    throw this.syntax(t, `expected a value (string, integer, true, false), found ${this.describe(t)}`);
  }

  private parseOperand(allowList = false): RgcOperand {
    const t = this.tok;
    if (this.isPunct('[')) {
      if (!allowList) throw this.compile(t, 'a list is allowed only on the right of "in"');
      this.pos++;
      const items: RgcScalar[] = [];
      while (!this.isPunct(']')) {
        items.push(this.scalar());
        if (!this.isPunct(',')) break;
        this.pos++;
      }
      this.punct(']');
      return ['lit', items];
    }
    if (t.kind === 'string' || t.kind === 'int' || this.isWord('true') || this.isWord('false')) {
      return ['lit', this.scalar()];
    }
    if (t.kind === 'ident') return ['get', this.parsePath()];
    throw this.syntax(t, `expected a condition, found ${this.describe(t)}`);
  }

  private parsePath(): RgcPath {
    const t = this.name('a field');
    const rest = (): string[] => {
      const segs: string[] = [];
      do {
        this.punct('.');
        segs.push(this.name('a field name').value);
      } while (this.isPunct('.'));
      return segs;
    };
    switch (t.value) {
      case 'ref':
      case 'actor':
        return [t.value];
      case 'caps':
        return ['event', 'caps'];
      case 'event':
        return ['event', ...rest()];
      case 'payload':
        return ['event', 'payload', ...rest()];
      default:
        throw this.syntax(
          t,
          `unknown field ${JSON.stringify(t.value)}`,
          'fields are ref, actor, caps, event.<name>, payload.<path>',
        );
    }
  }
}

/** Parses `.rgs` source into the IR. Throws `GATOS_E_POLICY_SYNTAX` / `GATOS_E_POLICY_COMPILE`. */
export function parseRgs(source: string, opts: CompileRgsOptions = {}): Rgc {
  const file = opts.file ?? '<policy>';
  return new Parser(lexRgs(source, file), source, file).parsePolicy();
}

/** Compiles `.rgs` source to `.rgc` bytes and their `policy_code_root`. */
export function compileRgs(source: string, opts: CompileRgsOptions = {}): CompiledPolicy {
  const rgc = parseRgs(source, opts);
  const bytes = encodeRgc(rgc);
  return { rgc, bytes, policyCodeRoot: policyCodeRoot(bytes) };
}
