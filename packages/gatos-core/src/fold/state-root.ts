/**
 * Fold state: its canonical bytes, its root (a CID) and its human-readable JSON view.
 *
 * A state is JSON data with integers only ({@link JsonValue}: what an EchoLua fold returns). Its bytes are the
 * canonical DAG-CBOR encoding (`canonical.ts`); its root is `CIDv1(dag-cbor, blake3-256)` of those bytes, built
 * exactly like an Event-CID. Normative text: `spec/proof-of-fold.md` § State root.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { decodeCanonical, encodeValidated } from '../encoding/canonical.js';
import { GatosError } from '../errors.js';
import { eventCidString, parseEventCid } from '../events/event-cid.js';
import { type JsonValue, prettyJson, validateJsonValue } from '../proofs/in-toto.js';

/** Default size limit of a state's canonical bytes: 1 GiB. */
export const STATE_MAX_BYTES = 1024 * 1024 * 1024;
/** Default nesting limit of a state (EchoLua's own limit is 100). */
export const STATE_MAX_DEPTH = 128;

/** Limits for state encoding and decoding. */
export interface StateOptions {
  /** Largest canonical encoding accepted, in bytes (default {@link STATE_MAX_BYTES}). */
  maxBytes?: number;
  /** Deepest nesting accepted (default {@link STATE_MAX_DEPTH}). */
  maxDepth?: number;
}

/** Throws (`GATOS_E_PAYLOAD_*`, `data.path` from `state`) unless `state` is JSON data with integers only. */
export function validateState(state: unknown, opts: StateOptions = {}): asserts state is JsonValue {
  validateJsonValue(state, 'state', opts.maxDepth ?? STATE_MAX_DEPTH);
}

/** The canonical DAG-CBOR bytes of a state (validated first; `GATOS_E_PAYLOAD_TOO_LARGE` beyond `maxBytes`). */
export function stateBytes(state: unknown, opts: StateOptions = {}): Uint8Array {
  validateState(state, opts);
  return encodeValidated(state, opts.maxBytes ?? STATE_MAX_BYTES);
}

/**
 * Reads state bytes strictly: canonical DAG-CBOR (`GATOS_E_DECODE`, `GATOS_E_NOT_CANONICAL`) holding JSON data
 * with integers only (no byte strings, no integers beyond ±(2^53−1)).
 */
export function stateFromBytes(bytes: Uint8Array, opts: StateOptions = {}): JsonValue {
  const maxDepth = opts.maxDepth ?? STATE_MAX_DEPTH;
  const value = decodeCanonical(bytes, { maxBytes: opts.maxBytes ?? STATE_MAX_BYTES, maxDepth });
  validateState(value, { maxDepth });
  return value;
}

/** The state root of canonical state bytes: `b…` CIDv1(dag-cbor 0x71, blake3-256 0x1e) string. */
export function stateRootOfBytes(bytes: Uint8Array): string {
  return eventCidString(bytes);
}

/** The state root of a state: {@link stateRootOfBytes} of {@link stateBytes}. */
export function stateRoot(state: unknown, opts: StateOptions = {}): string {
  return stateRootOfBytes(stateBytes(state, opts));
}

/** The blake3-256 digest (lowercase hex) inside a state root, i.e. blake3 of the state bytes. */
export function stateRootDigestHex(root: string): string {
  return Buffer.from(parseStateRoot(root).multihash.digest).toString('hex');
}

/** blake3-256 of state bytes, lowercase hex (equals {@link stateRootDigestHex} of their root). */
export function stateDigestHex(bytes: Uint8Array): string {
  return Buffer.from(blake3(bytes)).toString('hex');
}

/** Strictly parses a state root string (same form as an Event-CID); throws `GATOS_E_CID_INVALID`. */
export function parseStateRoot(root: string): ReturnType<typeof parseEventCid> {
  try {
    return parseEventCid(root);
  } catch (e) {
    throw new GatosError('GATOS_E_CID_INVALID', `invalid state root ${JSON.stringify(root)}`, {
      data: { state_root: root },
      hint: 'a state root is CIDv1, dag-cbor (0x71), blake3-256 (0x1e), written base32 lower: b…',
      cause: e,
    });
  }
}

/**
 * The JSON view of a state for humans (`state.json` in a checkpoint): keys sorted by UTF-16 code units at every
 * level, two-space indentation, final newline. Informative: the state root is computed from {@link stateBytes}.
 */
export function stateJsonView(state: unknown, opts: StateOptions = {}): string {
  return prettyJson(state, opts.maxDepth ?? STATE_MAX_DEPTH);
}
