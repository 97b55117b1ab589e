import {
  type FoldJournal,
  PROOF_OF_FOLD_FIELDS,
  type ProofOfFoldPredicate,
  type ProofOfFoldStatement,
  validateFoldStatement,
} from './fold-statement.js';
import { malformed, mismatch } from './fold-fields.js';
import { isPlainObject } from '../encoding/bytes.js';
import { type DsseEnvelope, assertDsseEnvelope, decodeBase64Strict, openDsse, parseDsse } from './dsse.js';
import { GatosError, isGatosError } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE, canonicalJson, parseStatement } from './in-toto.js';

// ---- verification --------------------------------------------------------------------------------------------

/** A registered key as a verifier sees it. */
export interface ProofKey {
  actor: string;
  publicKey: Uint8Array;
}

/** Where verification looks keys up: a trust registry (`TrustSet`) or a function. */
export type ProofTrust = { byId: ReadonlyMap<string, ProofKey> } | ((keyid: string) => ProofKey | undefined);

/** Options of {@link verifyProofOfFold}. */
export interface VerifyProofOfFoldOptions {
  /** When given, only keys of these actors count (the gate's list of trusted engines). */
  actors?: readonly string[];
  /** Distinct keys required (default 1). */
  threshold?: number;
}

/** A verified proof. */
export interface VerifiedProofOfFold {
  statement: ProofOfFoldStatement;
  predicate: ProofOfFoldPredicate;
  /** The keys whose signatures counted. */
  signers: { keyid: string; actor: string }[];
  /** The payload that was verified: the statement's canonical bytes. */
  payload: Uint8Array;
}

function resolverOf(trust: ProofTrust): (keyid: string) => ProofKey | undefined {
  return typeof trust === 'function' ? trust : (keyid) => trust.byId.get(keyid);
}

function sameField(field: string, expected: unknown, actual: unknown): boolean {
  if (field === 'journals' && Array.isArray(expected)) {
    const sorted = [...(expected as FoldJournal[])].sort((a, b) =>
      a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0,
    );
    return canonicalJson(sorted) === canonicalJson(actual);
  }
  try {
    return canonicalJson(expected) === canonicalJson(actual);
  } catch {
    return false;
  }
}

/**
 * Verifies a Proof-of-Fold envelope (object or its bytes, which must then be canonical), in this order:
 * 1. envelope shape, `payloadType` = `application/vnd.in-toto+json` (`GATOS_E_PROOF_MALFORMED`);
 * 2. signatures: at least `threshold` distinct registered keys (of `opts.actors`, if given) sign the PAE
 *    (`GATOS_E_PROOF_SIG`); any key of the trust registry is acceptable unless `opts.actors` narrows it;
 * 3. the payload is a canonical, complete Proof-of-Fold statement ({@link validateFoldStatement});
 * 4. each field of `expected` equals the predicate's (`GATOS_E_PROOF_MISMATCH`, `data: {field, expected, actual}`),
 *    checked in the order of {@link PROOF_OF_FOLD_FIELDS}; `journals` may be given in any order.
 */
export function verifyProofOfFold(
  envelope: DsseEnvelope | Uint8Array | string,
  trust: ProofTrust,
  expected: Partial<ProofOfFoldPredicate> = {},
  opts: VerifyProofOfFoldOptions = {},
): VerifiedProofOfFold {
  const env = envelope instanceof Uint8Array || typeof envelope === 'string' ? parseDsse(envelope) : envelope;
  const resolve = resolverOf(trust);
  const actors = opts.actors;
  const refused: { keyid: string; actor: string }[] = [];
  const actorOf = new Map<string, string>();
  let opened: ReturnType<typeof openDsse>;
  try {
    if (isPlainObject(env) && env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw malformed('payloadType', `must be ${IN_TOTO_PAYLOAD_TYPE}`, env.payloadType);
    }
    opened = openDsse(
      env,
      (keyid) => {
        const k = resolve(keyid);
        if (k === undefined) return undefined;
        if (actors !== undefined && !actors.includes(k.actor)) {
          refused.push({ keyid, actor: k.actor });
          return undefined;
        }
        actorOf.set(keyid, k.actor);
        return k.publicKey;
      },
      opts.threshold === undefined ? {} : { threshold: opts.threshold },
    );
  } catch (e) {
    if (isGatosError(e, 'GATOS_E_PROOF_SIG') && refused.length > 0) {
      throw new GatosError(
        'GATOS_E_PROOF_SIG',
        `${e.message}; signed by ${refused.map((r) => r.actor).join(', ')}, not an accepted engine`,
        { data: { ...e.data, refused }, hint: `accepted engines: ${(actors ?? []).join(', ')}`, cause: e },
      );
    }
    throw e;
  }
  const statement = parseStatement(opened.payload);
  validateFoldStatement(statement);
  const predicate = statement.predicate;
  for (const k of Object.keys(expected)) {
    if (!(PROOF_OF_FOLD_FIELDS as readonly string[]).includes(k)) {
      throw new GatosError('GATOS_E_INTERNAL', `verifyProofOfFold: unknown expected field ${k}`);
    }
  }
  for (const field of PROOF_OF_FOLD_FIELDS) {
    if (!Object.hasOwn(expected, field)) continue;
    const want = expected[field];
    if (!sameField(field, want, predicate[field])) throw mismatch(field, want, predicate[field]);
  }
  return {
    statement,
    predicate,
    signers: opened.verified.map((v) => ({ keyid: v.keyid, actor: actorOf.get(v.keyid)! })),
    payload: opened.payload,
  };
}

/** Reads the statement of an envelope WITHOUT checking signatures (for building and inspecting checkpoints). */
export function foldStatementOfEnvelope(envelope: DsseEnvelope): ProofOfFoldStatement {
  assertDsseEnvelope(envelope);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw malformed('payloadType', `must be ${IN_TOTO_PAYLOAD_TYPE}`, envelope.payloadType);
  }
  const payload = decodeBase64Strict(envelope.payload);
  if (payload === null) throw malformed('payload', 'not strict standard base64');
  const st = parseStatement(payload);
  validateFoldStatement(st);
  return st;
}
