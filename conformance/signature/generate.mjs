#!/usr/bin/env node
// Regenerates conformance/signature/ed25519.json with the built @gatos/core (run `npx tsc -b` first).
// RFC 8032 vectors are hard-coded from the RFC and checked; everything else comes from the implementation, is
// checked against @noble/ed25519 here, and again (independently) by packages/gatos-core/test/conformance.test.ts.
//   node conformance/signature/generate.mjs
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as ed from '../../packages/gatos-core/node_modules/@noble/ed25519/index.js';
import { sha512 } from '../../packages/gatos-core/node_modules/@noble/hashes/sha2.js';
import {
  assertSignature,
  keyId,
  keyPairFromSeed,
  sign,
  validatePublicKey,
} from '../../packages/gatos-core/dist/ed25519.js';
import { parseEventCid } from '../../packages/gatos-core/dist/event-cid.js';
import {
  assertEventSignature,
  eventSigningInput,
  formatSignature,
  parseSignature,
  signEvent,
} from '../../packages/gatos-core/dist/event-signature.js';

ed.hashes.sha512 = sha512;
const here = new URL('.', import.meta.url);
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const code = (fn) => {
  try {
    fn();
    return 'ACCEPTED';
  } catch (e) {
    return e.code ?? String(e);
  }
};
const expect = (what, got, want) => {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
};

// RFC 8032 §7.1 TEST 1 and TEST 2, verbatim.
const rfc8032 = [
  {
    name: 'RFC 8032 7.1 TEST 1',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public_key: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'RFC 8032 7.1 TEST 2',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public_key: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];
for (const v of rfc8032) {
  expect(`${v.name} public key`, hex(keyPairFromSeed(unhex(v.seed)).publicKey), v.public_key);
  expect(`${v.name} signature`, hex(sign(unhex(v.seed), unhex(v.message))), v.signature);
  v.key_id = keyId(unhex(v.public_key));
}

const seeds = [
  ['seed-01', new Uint8Array(32).fill(1)],
  ['seed-ramp', Uint8Array.from({ length: 32 }, (_, i) => i)],
  ['rfc8032-test1', unhex(rfc8032[0].seed)],
];
const keys = seeds.map(([name, seed]) => {
  const { publicKey } = keyPairFromSeed(seed);
  expect(`${name} noble public key`, hex(ed.getPublicKey(seed)), hex(publicKey));
  return { name, seed: hex(seed), public_key: hex(publicKey), key_id: keyId(publicKey) };
});

// Event signatures over the Event-CID of conformance/envelope/valid.json's first vector.
const envelopeVectors = JSON.parse(readFileSync(new URL('../envelope/valid.json', here), 'utf8'));
const cidString = envelopeVectors[0].cid;
const cid = parseEventCid(cidString);
const ref = 'refs/gatos/journal/demo/user/alice';
const parentOid = createHash('sha1').update('gatos conformance parent').digest('hex');
const contexts = [
  ['first-event', { ref, parent: '0000000000000000000000000000000000000000', cid }],
  ['second-event', { ref, parent: parentOid, cid }],
  ['unicode-ref', { ref: 'refs/gatos/journal/demo/user/zoë', parent: parentOid, cid }],
];
const eventSignatures = [];
for (const k of keys) {
  for (const [name, ctx] of contexts) {
    const seed = unhex(k.seed);
    const input = eventSigningInput(ctx);
    const sig = signEvent(seed, ctx);
    expect(`${k.name}/${name} noble signature`, hex(ed.sign(input, seed)), hex(sig));
    expect(
      `${k.name}/${name} noble verify`,
      ed.verify(sig, input, unhex(k.public_key), { zip215: false }),
      true,
    );
    eventSignatures.push({
      name: `${k.name}/${name}`,
      seed: k.seed,
      public_key: k.public_key,
      key_id: k.key_id,
      ref: ctx.ref,
      parent: ctx.parent,
      cid: cidString,
      signing_input: hex(input),
      signature: hex(sig),
      signature_string: formatSignature(sig),
    });
  }
}

// Public keys that MUST be refused (GATOS_E_KEY_INVALID).
const P = 2n ** 255n - 19n;
const le = (n) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 255n);
  return out;
};
const good = ed.Point.fromBytes(unhex(keys[0].public_key));
const order2 = ed.Point.fromBytes(unhex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'));
let notOnCurve = 2n;
for (;;) {
  try {
    ed.Point.fromBytes(le(notOnCurve), true);
    notOnCurve++;
  } catch {
    break;
  }
}
const invalidKeys = [
  [
    'identity (small order 1)',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'small-order',
  ],
  ['order 2', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'small-order'],
  ['order 4 (y=0)', '0000000000000000000000000000000000000000000000000000000000000000', 'small-order'],
  [
    'order 4 (y=0, sign bit)',
    '0000000000000000000000000000000000000000000000000000000000000080',
    'small-order',
  ],
  ['order 8', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'small-order'],
  ['order 8 (sign bit)', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', 'small-order'],
  ['order 8 (other)', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'small-order'],
  [
    'order 8 (other, sign bit)',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    'small-order',
  ],
  [
    'identity, x=0 with sign bit set',
    '0100000000000000000000000000000000000000000000000000000000000080',
    'not-canonical',
  ],
  ['y = p (non-canonical 0)', hex(le(P)), 'not-canonical'],
  ['y = p + 1 (non-canonical identity)', hex(le(P + 1n)), 'not-canonical'],
  ['y not on the curve', hex(le(notOnCurve)), 'not-canonical'],
  ['valid key + order-2 point (mixed order)', hex(good.add(order2).toBytes()), 'torsion'],
  ['31 bytes', keys[0].public_key.slice(0, 62), 'length'],
  ['33 bytes', `${keys[0].public_key}00`, 'length'],
].map(([name, pk, reason]) => {
  let got;
  try {
    validatePublicKey(unhex(pk));
    got = 'ACCEPTED';
  } catch (e) {
    got = `${e.code}/${e.data.reason}`;
  }
  expect(`invalid key ${name}`, got, `GATOS_E_KEY_INVALID/${reason}`);
  return { name, public_key: pk, reason, code: 'GATOS_E_KEY_INVALID' };
});

// Signatures that MUST be refused, against event-signature contexts.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const base = eventSignatures[1]; // seed-01 / second-event
const sigBytes = unhex(base.signature);
const sOf = (sig) => sig.subarray(32).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
const withS = (s) => Uint8Array.from([...sigBytes.subarray(0, 32), ...le(s)]);
const flipped = Uint8Array.from(sigBytes);
flipped[5] ^= 1;
const baseCtx = { ref: base.ref, parent: base.parent, cid: base.cid };
const invalidSignatures = [
  ['wrong ref', { ...baseCtx, ref: 'refs/gatos/journal/demo/user/mallory' }, sigBytes, 'GATOS_E_SIG_INVALID'],
  [
    'wrong parent (replay at another position)',
    { ...baseCtx, parent: '0'.repeat(40) },
    sigBytes,
    'GATOS_E_SIG_INVALID',
  ],
  ['flipped bit in R', baseCtx, flipped, 'GATOS_E_SIG_INVALID'],
  ['S + L (malleated, non-canonical S)', baseCtx, withS(sOf(sigBytes) + L), 'GATOS_E_SIG_MALFORMED'],
  ['S = L', baseCtx, withS(L), 'GATOS_E_SIG_MALFORMED'],
  ['63 bytes', baseCtx, sigBytes.subarray(0, 63), 'GATOS_E_SIG_MALFORMED'],
].map(([name, ctx, sig, want]) => {
  const c = { ...ctx, cid: parseEventCid(ctx.cid) };
  expect(
    `invalid signature ${name}`,
    code(() => assertEventSignature(unhex(base.public_key), c, sig)),
    want,
  );
  return { name, public_key: base.public_key, ...ctx, signature: hex(sig), code: want };
});
// The small-order forgery: identity public key, R = identity, S = 0 "verifies" any message under plain
// cofactorless or ZIP-215 verification; GATOS refuses the key.
{
  const pk = unhex(invalidKeys[0].public_key);
  const sig = Uint8Array.from([1, ...new Uint8Array(63)]);
  const ctx = { ...baseCtx, cid };
  expect('forgery under noble zip215', ed.verify(sig, eventSigningInput(ctx), pk), true);
  expect(
    'forgery under gatos',
    code(() => assertSignature(pk, eventSigningInput(ctx), sig)),
    'GATOS_E_KEY_INVALID',
  );
  invalidSignatures.push({
    name: 'small-order forgery: identity key, R = identity, S = 0',
    public_key: hex(pk),
    ...baseCtx,
    signature: hex(sig),
    code: 'GATOS_E_KEY_INVALID',
  });
}

// Signature strings (commit trailers).
const b64 = base.signature_string.slice('ed25519:'.length);
const invalidStrings = [
  ['no prefix', b64],
  ['capitalized prefix', `Ed25519:${b64}`],
  ['unpadded', base.signature_string.replace(/=+$/, '')],
  ['base64url alphabet', `ed25519:${'-_'.repeat(43)}AA==`],
  ['whitespace', `${base.signature_string} `],
  ['line break inside', `ed25519:${b64.slice(0, 40)}\n${b64.slice(40)}`],
  ['63 bytes', formatSig63()],
  ['65 bytes', `ed25519:${Buffer.concat([Buffer.from(sigBytes), Buffer.from([0])]).toString('base64')}`],
  ['non-zero padding bits', `ed25519:${b64.slice(0, 85)}${b64[85] === 'B' ? 'C' : 'B'}==`],
  ['empty', ''],
].map(([name, string]) => {
  expect(
    `sig string ${name}`,
    code(() => parseSignature(string)),
    'GATOS_E_SIG_MALFORMED',
  );
  return { name, string, code: 'GATOS_E_SIG_MALFORMED' };
});
function formatSig63() {
  return `ed25519:${Buffer.from(sigBytes.subarray(0, 63)).toString('base64')}`;
}
expect('sig string round trip', hex(parseSignature(base.signature_string)), base.signature);

const out = {
  description:
    'Ed25519 vectors for GATOS (see conformance/README.md). All byte strings are lowercase hex; signatures are pure Ed25519 (RFC 8032) over the bytes shown.',
  rfc8032,
  keys,
  event_signatures: eventSignatures,
  invalid_public_keys: invalidKeys,
  invalid_signatures: invalidSignatures,
  signature_strings: {
    valid: eventSignatures.slice(0, 3).map((e) => ({ string: e.signature_string, signature: e.signature })),
    invalid: invalidStrings,
  },
};
writeFileSync(new URL('ed25519.json', here), `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `signature vectors: ${rfc8032.length} RFC 8032, ${keys.length} keys, ${eventSignatures.length} event signatures, ` +
    `${invalidKeys.length} invalid keys, ${invalidSignatures.length} invalid signatures, ${invalidStrings.length} invalid strings`,
);
