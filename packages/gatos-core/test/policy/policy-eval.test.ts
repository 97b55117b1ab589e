import { describe, expect, it } from 'vitest';
import {
  compileRgs,
  evaluatePolicy,
  explainPolicy,
  type PolicyInput,
  renderExplanation,
  type Rgc,
} from '../../src/index.js';

const K = { a: 'aa'.repeat(32), b: 'bb'.repeat(32), c: 'cc'.repeat(32) };
const policy = (body: string): Rgc => compileRgs(`policy "t" version 1\n${body}`).rgc;
const base: PolicyInput = {
  ref: 'refs/gatos/journal/x',
  actor: 'user:alice',
  event: { type: 't.x', payload: {} },
};
const withPayload = (payload: unknown): PolicyInput => ({ ...base, event: { type: 't.x', payload } });

describe('policy evaluation: outcomes', () => {
  it('default deny: no rule, or no matching allow', () => {
    expect(evaluatePolicy(policy(''), base)).toEqual({
      decision: 'deny',
      rule: null,
      reason: 'no rule allows',
      matched: [],
      errors: [],
    });
    expect(
      evaluatePolicy(policy('rule "a" allow when actor == "user:bob" because "bob"'), base).decision,
    ).toBe('deny');
  });

  it('deny overrides allow, whatever the order; the first matching rule of the winning effect decides', () => {
    for (const body of [
      'rule "a" allow because "yes"\nrule "a2" allow because "yes2"\nrule "d" deny when ref matches "refs/**" because "no"',
      'rule "d" deny when ref matches "refs/**" because "no"\nrule "a" allow because "yes"\nrule "a2" allow because "yes2"',
    ]) {
      const d = evaluatePolicy(policy(body), base);
      expect(d).toMatchObject({ decision: 'deny', rule: 'd', reason: 'no', errors: [] });
      expect(d.matched.map((m) => m.rule).sort()).toEqual(['a', 'a2', 'd']);
    }
    const allow = evaluatePolicy(
      policy('rule "a" allow because "yes"\nrule "a2" allow because "yes2"'),
      base,
    );
    expect(allow).toMatchObject({ decision: 'allow', rule: 'a', reason: 'yes' });
  });

  it('fails closed: an error in any rule denies, even when another rule allows', () => {
    const rgc = policy(
      'rule "ok" allow because "always"\nrule "bad" allow when payload.volume <= 10 because "small"',
    );
    const d = evaluatePolicy(rgc, base);
    expect(d).toMatchObject({
      decision: 'deny',
      rule: 'bad',
      errors: [{ rule: 'bad', message: 'payload.volume is missing' }],
    });
    expect(d.reason).toBe('evaluation error in rule "bad": payload.volume is missing');
    // Type mismatch in an ordering comparison.
    expect(evaluatePolicy(rgc, withPayload({ volume: 'ten' })).errors[0]?.message).toMatch(
      /cannot order "ten" <= 10/,
    );
    // A float from JSON is not an integer.
    expect(evaluatePolicy(rgc, withPayload({ volume: 1.5 })).decision).toBe('deny');
    expect(evaluatePolicy(rgc, withPayload({ volume: 10 })).decision).toBe('allow');
    // A guard with exists avoids the error; and/or short-circuit left to right.
    const guarded = policy(
      'rule "g" allow when payload.volume exists and payload.volume <= 10 because "small"',
    );
    expect(evaluatePolicy(guarded, base)).toMatchObject({ decision: 'deny', rule: null, errors: [] });
  });

  it('a matching deny rule is reported before errors', () => {
    const d = evaluatePolicy(
      policy('rule "bad" allow when payload.v == 1 because "x"\nrule "d" deny because "never"'),
      base,
    );
    expect(d).toMatchObject({ decision: 'deny', rule: 'd', reason: 'never', errors: [{ rule: 'bad' }] });
  });

  it('a malformed input denies with rule null', () => {
    const rgc = policy('rule "a" allow because "yes"');
    for (const bad of [
      null,
      {},
      { ref: 'r' },
      { ref: 'r', actor: 'user:a', event: [] },
      { ref: 'r', actor: 'user:a', event: { caps: 'x' } },
      { ref: 'r', actor: 'user:a', approvals: [{ actor: 'user:a', publicKey: 'zz' }] },
      { ref: 'r', actor: 'user:a', keysByActor: { 'user:a': 'aa' } },
    ]) {
      const d = evaluatePolicy(rgc, bad as unknown as PolicyInput);
      expect(d.decision).toBe('deny');
      expect(d.rule).toBeNull();
      expect(d.errors[0]?.rule).toBeNull();
      expect(d.reason).toMatch(/^invalid input: /);
    }
  });
});

describe('policy evaluation: conditions', () => {
  const holds = (cond: string, input: PolicyInput = base, groups = ''): boolean | 'error' => {
    const d = evaluatePolicy(policy(`${groups}rule "r" allow when ${cond} because "x"`), input);
    return d.errors.length ? 'error' : d.decision === 'allow';
  };

  it('compares integers and strings', () => {
    const i = withPayload({ n: 5, s: 'b', big: 2n ** 60n, nested: { deep: { v: -1 } }, t: true, nul: null });
    expect(holds('payload.n == 5', i)).toBe(true);
    expect(holds('payload.n != 5', i)).toBe(false);
    expect(holds('payload.n < 6 and payload.n <= 5 and payload.n > 4 and payload.n >= 5', i)).toBe(true);
    expect(holds('payload.n < 5', i)).toBe(false);
    expect(holds('payload.s > "a" and payload.s < "c" and payload.s >= "b"', i)).toBe(true);
    expect(holds('payload.big > 9007199254740991', i)).toBe(true);
    expect(holds('payload.nested.deep.v == -1', i)).toBe(true);
    expect(holds('payload.n == "5"', i)).toBe(false); // equality across types is false, not an error
    expect(holds('payload.n < "5"', i)).toBe('error');
    expect(holds('payload.t == true and payload.t != false', i)).toBe(true);
    expect(holds('payload.nul == 1', i)).toBe(false);
    expect(holds('payload.nul < 1', i)).toBe('error');
    expect(holds('payload.s == actor', i)).toBe(false);
    // Strings order by code point: U+FFFF sorts before U+1F600 (UTF-16 order would say otherwise).
    const u = withPayload({ hi: '\uffff', emoji: '😀' });
    expect(holds('payload.hi < payload.emoji and payload.emoji > "é"', u)).toBe(true);
  });

  it('in: lists, caps, fields; exists', () => {
    const i: PolicyInput = {
      ...base,
      event: { type: 'note.created', caps: ['lab.write'], payload: { tags: ['x', 1], o: { k: 0 } } },
    };
    expect(holds('event.type in ["a", "note.created"]', i)).toBe(true);
    expect(holds('event.type in []', i)).toBe(false);
    expect(holds('"lab.write" in caps and not "lab.admin" in caps', i)).toBe(true);
    expect(holds('1 in payload.tags and "x" in payload.tags and not 2 in payload.tags', i)).toBe(true);
    expect(holds('"k" in payload.o', i)).toBe('error');
    expect(holds('payload.o.k exists and not payload.o.j exists and payload.tags exists', i)).toBe(true);
    // caps defaults to [] when the event has none; with no event at all it is missing.
    expect(holds('"lab.write" in caps', base)).toBe(false);
    expect(holds('"lab.write" in caps', { ref: 'r', actor: 'user:a' })).toBe('error');
    expect(holds('caps exists', { ref: 'r', actor: 'user:a' })).toBe(false);
  });

  it('never reads through the prototype', () => {
    const i = withPayload({ a: {} });
    expect(
      holds('payload.constructor exists or payload.a.toString exists or payload.__proto__ exists', i),
    ).toBe(false);
    expect(holds('payload.hasOwnProperty == 1', i)).toBe('error');
  });

  it('matches globs; matching a non-string is an error', () => {
    expect(holds('ref matches "refs/gatos/*/x"', { ...base, ref: 'refs/gatos/journal/x' })).toBe(true);
    expect(holds('ref matches "refs/gatos/*"', { ...base, ref: 'refs/gatos/journal/x' })).toBe(false);
    expect(holds('payload.n matches "*"', withPayload({ n: 1 }))).toBe('error');
  });

  it('groups', () => {
    const g = 'group m = ["user:alice", "user:bob"]\ngroup e = []\n';
    expect(holds('actor in group m', base, g)).toBe(true);
    expect(holds('actor in group e', base, g)).toBe(false);
    expect(holds('payload.n in group m', withPayload({ n: 1 }), g)).toBe(false);
  });
});

describe('policy evaluation: quorum', () => {
  const rgc = policy(
    'group council = ["user:alice", "user:bob", "user:carol"]\n' +
      'rule "api-needs-quorum" deny when event.type == "api.changed" and not approvals(group council) >= 2\n' +
      '  because "API changes need 2 of 3 council approvals"\n' +
      'rule "api" allow when event.type == "api.changed" because "approved"\n',
  );
  const api = (approvals: PolicyInput['approvals'], keysByActor?: PolicyInput['keysByActor']): string =>
    evaluatePolicy(rgc, {
      ref: 'refs/gatos/journal/api',
      actor: 'user:alice',
      event: { type: 'api.changed', payload: {} },
      ...(approvals ? { approvals } : {}),
      ...(keysByActor ? { keysByActor } : {}),
    }).decision;

  it('no API changes without 2-of-3 quorum', () => {
    expect(api(undefined)).toBe('deny');
    expect(api([{ actor: 'user:alice', publicKey: K.a }])).toBe('deny');
    expect(
      api([
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:carol', publicKey: K.c },
      ]),
    ).toBe('allow');
    expect(
      api([
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:carol', publicKey: K.c },
      ]),
    ).toBe('allow');
  });

  it('counts distinct keys: one key under two names (or twice, or in another case) counts once', () => {
    expect(
      api([
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:bob', publicKey: K.a },
      ]),
    ).toBe('deny');
    expect(
      api([
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:bob', publicKey: K.b.toUpperCase() },
      ]),
    ).toBe('deny');
  });

  it('ignores non-members, and keys not registered for their actor when keysByActor is given', () => {
    expect(
      api([
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:mallory', publicKey: K.b },
      ]),
    ).toBe('deny');
    const reg = { 'user:alice': [K.a], 'user:bob': [K.b] };
    expect(
      api(
        [
          { actor: 'user:alice', publicKey: K.a },
          { actor: 'user:bob', publicKey: K.b },
        ],
        reg,
      ),
    ).toBe('allow');
    expect(
      api(
        [
          { actor: 'user:alice', publicKey: K.a },
          { actor: 'user:bob', publicKey: K.c },
        ],
        reg,
      ),
    ).toBe('deny');
    expect(
      api(
        [
          { actor: 'user:alice', publicKey: K.a },
          { actor: 'user:carol', publicKey: K.c },
        ],
        reg,
      ),
    ).toBe('deny');
  });
});

describe('policy explain', () => {
  it('shows per rule and per condition whether it held, why, and what was skipped', () => {
    const rgc = policy(
      'group m = ["user:alice"]\n' +
        'rule "w" allow when ref matches "refs/gatos/**" and (actor in group m or actor == "agent:s") and payload.v <= 10 because "writes"\n' +
        'rule "d" deny when event.type == "api.changed" and not approvals(group m) >= 1 because "quorum"\n',
    );
    const x = explainPolicy(rgc, withPayload({ v: 11 }));
    expect(x.decision).toBe('deny');
    expect(x.rules.map((r) => r.outcome)).toEqual(['no-match', 'no-match']);
    const w = x.rules[0]!.condition;
    expect(w.children?.map((c) => c.result)).toEqual(['true', 'true', 'false']);
    expect(w.children?.[1]?.children?.map((c) => c.result)).toEqual(['true', 'skipped']);
    expect(w.children?.[2]?.detail).toBe('payload.v is 11');
    expect(x.rules[1]!.condition.children?.map((c) => c.result)).toEqual(['false', 'skipped']);
    const text = renderExplanation(x).join('\n');
    expect(text).toContain('rule "w" (allow) does not apply');
    expect(text).toContain('[no ] payload.v <= 10   (payload.v is 11)');
    expect(text).toContain('decision: DENY: no rule allows');

    const e = explainPolicy(rgc, withPayload({}));
    expect(e.rules[0]).toMatchObject({ outcome: 'error', error: 'payload.v is missing' });
    expect(e.rules[0]!.condition.result).toBe('error');
    expect(e.rules[0]!.condition.children?.[2]).toMatchObject({
      result: 'error',
      detail: 'payload.v is missing',
    });
    expect(e.decision).toBe('deny');
    // explain and evaluate always agree
    for (const p of [{}, { v: 1 }, { v: 11 }, { v: 'x' }]) {
      const { rules: _r, inputErrors: _i, ...d } = explainPolicy(rgc, withPayload(p));
      expect(d).toEqual(evaluatePolicy(rgc, withPayload(p)));
    }
  });
});

describe('policy evaluation: throughput', () => {
  it('measures decisions per second (reported, not asserted)', () => {
    const rgc = compileRgs(
      'policy "lab" version 1\ngroup maintainers = ["user:alice", "user:bob", "user:carol"]\n' +
        'rule "journal-writes" allow\n  when ref matches "refs/gatos/journal/**"\n' +
        '   and event.type in ["note.created", "sample.registered"]\n' +
        '   and (actor in group maintainers or actor == "agent:sensor-1")\n' +
        '   and "lab.write" in caps\n   and payload.volume_ul <= 1000\n  because "ok"\n' +
        'rule "no-api-change-without-quorum" deny\n' +
        '  when event.type == "api.changed" and not approvals(group maintainers) >= 2\n  because "quorum"\n',
    ).rgc;
    const input: PolicyInput = {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: { type: 'note.created', caps: ['lab.write'], payload: { volume_ul: 500 } },
      approvals: [{ actor: 'user:bob', publicKey: K.b }],
    };
    const n = 200_000;
    let allowed = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if (evaluatePolicy(rgc, input).decision === 'allow') allowed++;
    const ms = performance.now() - t0;
    expect(allowed).toBe(n);
    console.log(
      `policy evaluator: ${Math.round((n / ms) * 1000).toLocaleString('en')} decisions/s (${n} in ${ms.toFixed(0)} ms)`,
    );
  });
});
