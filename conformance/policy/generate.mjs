#!/usr/bin/env node
// Regenerates conformance/policy/{compiled,decisions,compile-errors}.json from the sample policies (*.rgs) and the
// cases below, using the built @gatos/core (run `npx tsc -b` first). Expected decisions, deciding rules, erroring
// rules, error codes and positions are written here by hand and checked against the implementation before any
// file is written; `.rgc` bytes and roots come from the implementation and are cross-checked independently by
// packages/gatos-core/test/policy/conformance.test.ts.
//   node conformance/policy/generate.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { compileRgs, evaluatePolicy } from '../../packages/gatos-core/dist/index.js';

const here = new URL('.', import.meta.url);
const hex = (b) => Buffer.from(b).toString('hex');
const K = { a: 'aa'.repeat(32), b: 'bb'.repeat(32), c: 'cc'.repeat(32), x: 'dd'.repeat(32) };
const ev = (type, payload = {}, caps = []) => ({ type, caps, payload });

const files = readdirSync(here)
  .filter((f) => f.endsWith('.rgs'))
  .sort();
const compiled = files.map((file) => {
  const c = compileRgs(readFileSync(new URL(file, here), 'utf8'), { file });
  return { file, rgc_hex: hex(c.bytes), policy_code_root: c.policyCodeRoot };
});

// [name, policy, input, decision, rule, erroring rules]
const cases = [
  [
    'lab-maintainer-writes',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: ev('note.created', { volume_ul: 1000 }, ['lab.write']),
    },
    'allow',
    'journal-writes',
    [],
  ],
  [
    'lab-sensor-writes',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/agent/sensor-1',
      actor: 'agent:sensor-1',
      event: ev('sample.registered', { volume_ul: 5 }, ['lab.write']),
    },
    'allow',
    'journal-writes',
    [],
  ],
  [
    'lab-stranger-denied',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/eve',
      actor: 'user:eve',
      event: ev('note.created', { volume_ul: 5 }, ['lab.write']),
    },
    'deny',
    null,
    [],
  ],
  [
    'lab-volume-too-large',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: ev('note.created', { volume_ul: 1001 }, ['lab.write']),
    },
    'deny',
    null,
    [],
  ],
  [
    'lab-missing-cap',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: ev('note.created', { volume_ul: 1 }),
    },
    'deny',
    null,
    [],
  ],
  [
    'lab-missing-volume-fails-closed',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: ev('note.created', {}, ['lab.write']),
    },
    'deny',
    'journal-writes',
    ['journal-writes'],
  ],
  [
    'lab-volume-string-fails-closed',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      actor: 'user:alice',
      event: ev('note.created', { volume_ul: '5' }, ['lab.write']),
    },
    'deny',
    'journal-writes',
    ['journal-writes'],
  ],
  [
    'lab-no-event-fails-closed',
    'lab.rgs',
    { ref: 'refs/heads/main', actor: 'user:alice' },
    'deny',
    'no-api-change-without-quorum',
    ['no-api-change-without-quorum', 'api-change-with-quorum'],
  ],
  [
    'lab-api-one-approval',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/api/user/alice',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [{ actor: 'user:alice', publicKey: K.a }],
    },
    'deny',
    'no-api-change-without-quorum',
    [],
  ],
  [
    'lab-api-two-approvals',
    'lab.rgs',
    {
      ref: 'refs/gatos/journal/api/user/alice',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:bob', publicKey: K.b },
      ],
    },
    'allow',
    'api-change-with-quorum',
    [],
  ],
  [
    'quorum-none',
    'api-quorum.rgs',
    { ref: 'refs/gatos/journal/api/user/alice', actor: 'user:alice', event: ev('api.changed') },
    'deny',
    'api-needs-quorum',
    [],
  ],
  [
    'quorum-2-of-3',
    'api-quorum.rgs',
    {
      ref: 'refs/gatos/journal/api/user/alice',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:carol', publicKey: K.c },
      ],
    },
    'allow',
    'api-with-quorum',
    [],
  ],
  [
    'quorum-3-of-3',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:carol', publicKey: K.c },
      ],
    },
    'allow',
    'api-with-quorum',
    [],
  ],
  [
    'quorum-same-key-two-names',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:alice', publicKey: K.a },
        { actor: 'user:bob', publicKey: K.a.toUpperCase() },
      ],
    },
    'deny',
    'api-needs-quorum',
    [],
  ],
  [
    'quorum-same-approver-twice',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:bob', publicKey: K.b },
      ],
    },
    'deny',
    'api-needs-quorum',
    [],
  ],
  [
    'quorum-outsider-ignored',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:mallory', publicKey: K.x },
      ],
    },
    'deny',
    'api-needs-quorum',
    [],
  ],
  [
    'quorum-unregistered-key-ignored',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:carol', publicKey: K.x },
      ],
      keysByActor: { 'user:bob': [K.b], 'user:carol': [K.c] },
    },
    'deny',
    'api-needs-quorum',
    [],
  ],
  [
    'quorum-registered-keys',
    'api-quorum.rgs',
    {
      ref: 'r',
      actor: 'user:alice',
      event: ev('api.changed'),
      approvals: [
        { actor: 'user:bob', publicKey: K.b },
        { actor: 'user:carol', publicKey: K.c },
      ],
      keysByActor: { 'user:bob': [K.b], 'user:carol': [K.c] },
    },
    'allow',
    'api-with-quorum',
    [],
  ],
  [
    'quorum-other-type-default-deny',
    'api-quorum.rgs',
    { ref: 'r', actor: 'user:alice', event: ev('note.created') },
    'deny',
    null,
    [],
  ],
  ['deny-all', 'minimal.rgs', { ref: 'refs/heads/main', actor: 'user:alice' }, 'deny', null, []],
  ['malformed-input', 'minimal.rgs', { ref: 7, actor: 'user:alice' }, 'deny', null, [null]],
  ['glob-star-suffix', 'constructs.rgs', { ref: 'refs/heads/feat-x', actor: 'user:z' }, 'allow', 'heads', []],
  [
    'glob-star-not-deeper',
    'constructs.rgs',
    { ref: 'refs/heads/feat-x/y', actor: 'user:z' },
    'deny',
    null,
    [],
  ],
  [
    'glob-star-component',
    'constructs.rgs',
    { ref: 'refs/tags/release', actor: 'user:z' },
    'allow',
    'heads',
    [],
  ],
  [
    'glob-star-one-component-only',
    'constructs.rgs',
    { ref: 'refs/a/b/release', actor: 'user:z' },
    'deny',
    null,
    [],
  ],
  [
    'ops-everywhere',
    'constructs.rgs',
    { ref: 'refs/x', actor: 'service:ci', event: ev('a.b') },
    'allow',
    'ops-everywhere',
    [],
  ],
  ['ops-no-event-no-caps', 'constructs.rgs', { ref: 'refs/x', actor: 'service:ci' }, 'deny', null, []],
  [
    'frozen-deny-overrides-allow',
    'constructs.rgs',
    { ref: 'refs/gatos/frozen/x', actor: 'service:ci', event: ev('a.b') },
    'deny',
    'frozen',
    [],
  ],
  [
    'frozen-with-approval',
    'constructs.rgs',
    {
      ref: 'refs/gatos/frozen/x',
      actor: 'service:ci',
      event: ev('a.b'),
      approvals: [{ actor: 'agent:bot-1', publicKey: K.x }],
    },
    'allow',
    'ops-everywhere',
    [],
  ],
  [
    'order-ok',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: { qty: 99, sku: 'B1' }, priority: null, express: true, region: 'eu' },
      },
    },
    'allow',
    'payload-ops',
    [],
  ],
  [
    'order-bad-region',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: { qty: 99, sku: 'B1' }, priority: 1, express: true, region: 'zz' },
      },
    },
    'deny',
    null,
    [],
  ],
  [
    'order-qty-100',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: { qty: 100, sku: 'B1' }, priority: 1, express: true, region: 'eu' },
      },
    },
    'deny',
    null,
    [],
  ],
  [
    'order-no-priority',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: { qty: 1, sku: 'B1' }, express: true, region: 'eu' },
      },
    },
    'deny',
    null,
    [],
  ],
  [
    'order-sku-lowercase-sorts-after',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: { qty: 1, sku: 'a' }, priority: 1, express: true, region: 'eu' },
      },
    },
    'allow',
    'payload-ops',
    [],
  ],
  [
    'order-proto-path-missing',
    'constructs.rgs',
    {
      ref: 'refs/x',
      actor: 'user:z',
      event: {
        type: 'order.placed',
        ulid: '01J',
        caps: [],
        payload: { order: 'str', priority: 1, express: true, region: 'eu' },
      },
    },
    'deny',
    'payload-ops',
    ['payload-ops'],
  ],
  [
    'negative-int',
    'constructs.rgs',
    { ref: 'refs/heads/feat-1', actor: 'user:z', event: ev('x.y', { delta: -5 }) },
    'deny',
    'negative-ints',
    [],
  ],
];
const decisions = cases.map(([name, policy, input, decision, rule, errors]) => {
  const c = compiled.find((x) => x.file === policy);
  const d = evaluatePolicy(Buffer.from(c.rgc_hex, 'hex'), input);
  const got = { decision: d.decision, rule: d.rule, errors: d.errors.map((e) => e.rule) };
  const want = { decision, rule, errors };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)} (${d.reason})`);
  }
  return { name, policy, input, decision, rule, reason: d.reason, errors };
});

const head = 'policy "p" version 1\n';
// [name, source, code, line, column]
const errorCases = [
  ['no-header', 'rule "a" allow because "x"\n', 'GATOS_E_POLICY_SYNTAX', 1, 1],
  ['unterminated-string', `${head}rule "a allow because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 25],
  ['string-across-lines', `${head}rule "a\n" allow because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 6],
  ['unknown-escape', `${head}rule "a\\q" allow because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 8],
  ['unexpected-char', `${head}rule "a" allow when ref ~ "x" because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 25],
  [
    'bad-integer-suffix',
    `${head}rule "a" allow when payload.n == 12ab because "x"\n`,
    'GATOS_E_POLICY_SYNTAX',
    2,
    34,
  ],
  [
    'bad-integer-leading-zero',
    `${head}rule "a" allow when payload.n == 012 because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    34,
  ],
  [
    'bad-integer-minus-zero',
    `${head}rule "a" allow when payload.n == -0 because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    34,
  ],
  [
    'integer-too-large',
    `${head}rule "a" allow when payload.n < 9007199254740992 because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    33,
  ],
  ['version-zero', 'policy "p" version 0\n', 'GATOS_E_POLICY_COMPILE', 1, 20],
  ['empty-name', 'policy "" version 1\n', 'GATOS_E_POLICY_COMPILE', 1, 8],
  [
    'unknown-group',
    `${head}group admins = ["user:a"]\nrule "a" allow\n  when actor in group admin\n  because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    4,
    23,
  ],
  [
    'unknown-group-quorum',
    `${head}rule "a" allow when approvals(group g) >= 1 because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    37,
  ],
  [
    'duplicate-rule-id',
    `${head}rule "a" allow because "x"\nrule "a" deny because "y"\n`,
    'GATOS_E_POLICY_COMPILE',
    3,
    6,
  ],
  ['bad-rule-id', `${head}rule "a b" allow because "x"\n`, 'GATOS_E_POLICY_COMPILE', 2, 6],
  ['duplicate-group', `${head}group g = []\ngroup g = []\n`, 'GATOS_E_POLICY_COMPILE', 3, 7],
  ['keyword-group', `${head}group actor = []\n`, 'GATOS_E_POLICY_COMPILE', 2, 7],
  ['bad-actor-in-group', `${head}group g = ["alice"]\n`, 'GATOS_E_POLICY_COMPILE', 2, 12],
  ['duplicate-member', `${head}group g = ["user:a", "user:a"]\n`, 'GATOS_E_POLICY_COMPILE', 2, 22],
  ['group-after-rule', `${head}rule "a" allow because "x"\ngroup g = []\n`, 'GATOS_E_POLICY_SYNTAX', 3, 1],
  ['missing-because', `${head}rule "a" allow when actor == "user:a"\n`, 'GATOS_E_POLICY_SYNTAX', 3, 1],
  ['missing-effect', `${head}rule "a" when actor == "user:a" because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 10],
  [
    'mixed-and-or',
    `${head}rule "a" allow when actor == "user:a" and ref == "r" or ref == "s" because "x"\n`,
    'GATOS_E_POLICY_SYNTAX',
    2,
    54,
  ],
  [
    'mixed-or-and',
    `${head}rule "a" allow when actor == "user:a" or ref == "r" and ref == "s" because "x"\n`,
    'GATOS_E_POLICY_SYNTAX',
    2,
    53,
  ],
  [
    'unclosed-paren',
    `${head}rule "a" allow when (actor == "user:a" because "x"\n`,
    'GATOS_E_POLICY_SYNTAX',
    2,
    40,
  ],
  ['unknown-field', `${head}rule "a" allow when user == "x" because "x"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 21],
  [
    'event-without-field',
    `${head}rule "a" allow when event == "x" because "x"\n`,
    'GATOS_E_POLICY_SYNTAX',
    2,
    27,
  ],
  ['two-literals', `${head}rule "a" allow when "x" == "x" because "x"\n`, 'GATOS_E_POLICY_COMPILE', 2, 28],
  [
    'order-boolean',
    `${head}rule "a" allow when payload.f < true because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    31,
  ],
  [
    'list-outside-in',
    `${head}rule "a" allow when actor == ["x"] because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    30,
  ],
  ['in-scalar', `${head}rule "a" allow when actor in "x" because "x"\n`, 'GATOS_E_POLICY_COMPILE', 2, 30],
  [
    'bad-glob',
    `${head}rule "a" allow when ref matches "refs/**x" because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    33,
  ],
  [
    'empty-glob-component',
    `${head}rule "a" allow when ref matches "refs//x" because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    33,
  ],
  [
    'exists-on-literal',
    `${head}rule "a" allow when "x" exists because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    2,
    21,
  ],
  [
    'negative-quorum',
    `${head}group g = []\nrule "a" allow when approvals(group g) >= -1 because "x"\n`,
    'GATOS_E_POLICY_COMPILE',
    3,
    43,
  ],
  ['trailing-garbage', `${head}rule "a" allow because "x" "y"\n`, 'GATOS_E_POLICY_SYNTAX', 2, 28],
  ['non-ascii-column', `${head}rule "é" allow because "x" é\n`, 'GATOS_E_POLICY_SYNTAX', 2, 28],
];
const compileErrors = errorCases.map(([name, source, code, line, column]) => {
  let err;
  try {
    compileRgs(source);
  } catch (e) {
    err = e;
  }
  if (!err || err.code !== code || err.data.line !== line || err.data.column !== column) {
    throw new Error(
      `${name}: expected ${code} at ${line}:${column}, got ${err ? `${err.code} ${err.message}` : 'no error'}`,
    );
  }
  return { name, source, code, line, column, message: err.data.detail };
});

const write = (f, v) => writeFileSync(new URL(f, here), `${JSON.stringify(v, null, 2)}\n`);
write('compiled.json', compiled);
write('decisions.json', decisions);
write('compile-errors.json', compileErrors);
console.log(
  `${compiled.length} policies, ${decisions.length} decisions, ${compileErrors.length} compile errors`,
);
