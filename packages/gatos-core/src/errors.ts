/**
 * The one error type of GATOS and the table of its stable codes.
 *
 * Every code has an exit status (what the CLI exits with) and a one-line summary. `docs/errors.md` documents the
 * same table; `test/errors-table.test.ts` keeps the two in sync. Add a code here, then a row there.
 */

/** Exit statuses, by what went wrong; stable so scripts can branch on them. */
export const ExitStatus = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalid: 3,
  notFound: 4,
  conflict: 5,
  verify: 6,
  deny: 7,
  io: 8,
  limit: 9,
} as const;

/** The stable error codes: `code → [exit status, summary]`. */
export const ErrorCodes = {
  GATOS_E_INTERNAL: [
    ExitStatus.internal,
    'An unexpected internal error; please report it with the command and its output.',
  ],
  GATOS_E_USAGE: [ExitStatus.usage, 'The command line is malformed: unknown command, missing or bad option.'],
  GATOS_E_NOT_A_REPO: [ExitStatus.usage, 'The current directory is not inside a git repository.'],
  GATOS_E_NOT_INITIALIZED: [ExitStatus.notFound, 'The repository has no GATOS config; run `git gatos init`.'],
  GATOS_E_ALREADY_INITIALIZED: [
    ExitStatus.conflict,
    'The repository is already initialized with a different profile.',
  ],
  GATOS_E_BAD_PROFILE: [ExitStatus.invalid, 'Unknown profile; use `default` or `research`.'],
  GATOS_E_INPUT_JSON: [ExitStatus.invalid, 'Input is not valid JSON.'],
  GATOS_E_INPUT_FILE: [ExitStatus.io, 'An input file could not be read.'],

  // Event envelope shape (validated before encoding).
  GATOS_E_ENVELOPE_SHAPE: [ExitStatus.invalid, 'The envelope is not an object or misses a required field.'],
  GATOS_E_ENVELOPE_UNKNOWN_FIELD: [ExitStatus.invalid, 'The envelope has a field the spec does not define.'],
  GATOS_E_ENVELOPE_TYPE: [ExitStatus.invalid, 'The event `type` is not a valid type name.'],
  GATOS_E_ENVELOPE_ULID: [ExitStatus.invalid, 'The `ulid` is not a valid ULID (26 Crockford base32 chars).'],
  GATOS_E_ENVELOPE_ACTOR: [
    ExitStatus.invalid,
    'The `actor` is not `user:<name>`, `agent:<name>` or `service:<name>`.',
  ],
  GATOS_E_ENVELOPE_TS: [
    ExitStatus.invalid,
    'The `ts` is not a real RFC 3339 UTC time with milliseconds (`YYYY-MM-DDTHH:MM:SS.sssZ`).',
  ],
  GATOS_E_ENVELOPE_POLICY_ROOT: [ExitStatus.invalid, 'The `policy_root` is not a lowercase hex digest.'],
  GATOS_E_ENVELOPE_CAPS: [ExitStatus.invalid, 'The `caps` field is not a list of unique capability names.'],
  GATOS_E_ENVELOPE_SIG_ALG: [ExitStatus.invalid, 'The `sig_alg` is not a supported algorithm (`ed25519`).'],
  GATOS_E_PAYLOAD_FLOAT: [
    ExitStatus.invalid,
    'The payload holds a non-integer number or -0; GATOS payloads carry integers only.',
  ],
  GATOS_E_PAYLOAD_NAN: [ExitStatus.invalid, 'The payload holds NaN or an infinity.'],
  GATOS_E_PAYLOAD_UNSAFE_INT: [
    ExitStatus.invalid,
    'The payload holds a number beyond ±(2^53−1) or a bigint outside the 64-bit signed range.',
  ],
  GATOS_E_PAYLOAD_UNDEFINED: [ExitStatus.invalid, 'The payload holds `undefined`, a function or a symbol.'],
  GATOS_E_PAYLOAD_CLASS: [
    ExitStatus.invalid,
    'The payload holds a class instance (Map, Set, Date, CID, typed array) instead of plain data.',
  ],
  GATOS_E_PAYLOAD_KEY: [
    ExitStatus.invalid,
    'The payload holds a map key that is a symbol, non-enumerable or not well-formed Unicode.',
  ],
  GATOS_E_PAYLOAD_STRING: [
    ExitStatus.invalid,
    'The payload holds a string that is not well-formed Unicode (a lone surrogate).',
  ],
  GATOS_E_PAYLOAD_TOO_LARGE: [
    ExitStatus.limit,
    'The encoded envelope exceeds the payload size limit (default 1 MiB).',
  ],
  GATOS_E_PAYLOAD_DEPTH: [ExitStatus.limit, 'The payload nests deeper than the limit (default 64 levels).'],
  GATOS_E_NOT_CANONICAL: [
    ExitStatus.invalid,
    'Stored or received bytes are not the canonical DAG-CBOR encoding.',
  ],
  GATOS_E_DECODE: [ExitStatus.invalid, 'Bytes could not be decoded as DAG-CBOR.'],
  GATOS_E_CID_INVALID: [
    ExitStatus.invalid,
    'A content id is malformed or not an Event-CID (CIDv1, dag-cbor, blake3-256).',
  ],

  // Keys and signatures.
  GATOS_E_KEY_NOT_FOUND: [ExitStatus.notFound, 'No key for that actor or key id.'],
  GATOS_E_KEY_EXISTS: [ExitStatus.conflict, 'A key for that actor already exists.'],
  GATOS_E_KEY_INVALID: [
    ExitStatus.invalid,
    'A key has the wrong length, or a public key is non-canonical, of small order or has a torsion part.',
  ],
  GATOS_E_KEY_PERMISSIONS: [ExitStatus.io, 'A private key file is readable by others; it must be mode 0600.'],
  GATOS_E_SIG_INVALID: [ExitStatus.verify, 'A signature does not verify.'],
  GATOS_E_SIG_MALFORMED: [ExitStatus.verify, 'A signature is malformed or non-canonical.'],

  // Git store.
  GATOS_E_GIT: [ExitStatus.io, 'A git command failed.'],
  GATOS_E_OBJECT_MISSING: [ExitStatus.notFound, 'A git object is missing from the repository.'],
  GATOS_E_OBJECT_CORRUPT: [ExitStatus.verify, 'A git object does not hash to its id or cannot be parsed.'],
  GATOS_E_REF_NAME: [ExitStatus.invalid, 'A ref name is not valid under the GATOS layout.'],
  GATOS_E_REF_LOCKED: [ExitStatus.conflict, 'A ref is locked by another writer and stayed locked.'],
  GATOS_E_REF_CONFLICT: [
    ExitStatus.conflict,
    'A compare-and-swap lost against concurrent writers after all retries.',
  ],

  // Journals.
  GATOS_E_NAMESPACE: [ExitStatus.invalid, 'A namespace name is not valid (`[a-z0-9][a-z0-9_-]{0,63}`).'],
  GATOS_E_JOURNAL_NOT_FOUND: [ExitStatus.notFound, 'No journal for that namespace or actor.'],
  GATOS_E_JOURNAL_BROKEN: [
    ExitStatus.verify,
    'A journal commit is not a valid GATOS event commit or breaks the chain.',
  ],
  GATOS_E_CURSOR: [ExitStatus.invalid, 'A paging cursor is malformed or does not belong to this journal.'],

  // Fold VM (EchoLua).
  GATOS_E_FOLD_OPTIONS: [ExitStatus.usage, 'EchoLua options are invalid (fuel, memoryBytes).'],
  GATOS_E_FOLD_LINT: [
    ExitStatus.invalid,
    'The fold source does not compile or uses a name EchoLua forbids (pairs, next, os, load, ...).',
  ],
  GATOS_E_FOLD_FUEL: [ExitStatus.limit, 'The fold ran out of fuel (its instruction budget per event).'],
  GATOS_E_FOLD_MEMORY: [ExitStatus.limit, 'The fold VM exceeded its memory limit.'],
  GATOS_E_FOLD_RUNTIME: [ExitStatus.invalid, 'The fold raised a Lua error.'],
  GATOS_E_FOLD_STATE: [
    ExitStatus.invalid,
    'A fold state or event holds a value EchoLua cannot exchange (float, NaN, unsafe integer, mixed table, cycle).',
  ],
  GATOS_E_FOLD_CONTRACT: [
    ExitStatus.invalid,
    'The fold source does not define `fold(state, event)` or `fold` returned nil.',
  ],

  // Proofs (DSSE, in-toto, Proof-of-Fold) and state checkpoints.
  GATOS_E_PROOF_MALFORMED: [
    ExitStatus.invalid,
    'A proof (DSSE envelope, in-toto statement or Proof-of-Fold predicate) is malformed or not canonical.',
  ],
  GATOS_E_PROOF_SIG: [
    ExitStatus.verify,
    'A proof has too few signatures that verify with known keys (none, unknown key, bad signature).',
  ],
  GATOS_E_PROOF_MISMATCH: [
    ExitStatus.verify,
    'A proof field differs from the value expected or recomputed (`data.field` names it).',
  ],
  GATOS_E_CHECKPOINT_INVALID: [
    ExitStatus.verify,
    'A state checkpoint commit is malformed or disagrees with its files or its proof.',
  ],
  GATOS_E_FOLD_HISTORY: [
    ExitStatus.verify,
    'A journal no longer contains the head a checkpoint folded (history was rewritten).',
  ],
  GATOS_E_FOLD_DIVERGED: [
    ExitStatus.verify,
    'Re-folding history gives a different state than the checkpoint claims.',
  ],
  GATOS_E_STATE_NOT_FOUND: [
    ExitStatus.notFound,
    'The namespace has no state checkpoint yet; run `git gatos fold`.',
  ],
  GATOS_E_DETERMINISM: [ExitStatus.verify, 'Folds in different environments gave different results.'],

  // Push-gate and DENY audit.
  GATOS_E_PUSH_DENIED: [
    ExitStatus.deny,
    'The push-gate refused a push; the DENY record names the rule and reason.',
  ],
  GATOS_E_AUDIT_CORRUPT: [
    ExitStatus.verify,
    'A DENY audit record is malformed or the audit chain is broken (digest, sequence or parent).',
  ],
  GATOS_E_AUDIT_NOT_FOUND: [ExitStatus.notFound, 'No DENY audit record with that id.'],
  GATOS_E_HOOK_EXISTS: [
    ExitStatus.conflict,
    'A hook that GATOS did not install is in the way; pass --force to replace it.',
  ],
  // Policy language (.rgs / .rgc) and its evaluator.
  GATOS_E_POLICY_SYNTAX: [
    ExitStatus.invalid,
    'A `.rgs` policy does not parse; `data.line` and `data.column` point at the error.',
  ],
  GATOS_E_POLICY_COMPILE: [
    ExitStatus.invalid,
    'A `.rgs` policy parses but does not compile (unknown group, duplicate rule id, bad integer, ...).',
  ],
  GATOS_E_POLICY_RGC: [ExitStatus.invalid, 'A compiled policy (`.rgc`) is malformed or not canonical.'],
  GATOS_E_POLICY_DENY: [
    ExitStatus.deny,
    'The policy denies the request; the result names the rule and reason.',
  ],
  GATOS_E_POLICY_EVAL: [
    ExitStatus.deny,
    'A policy rule or the input could not be evaluated; the request is denied (fail closed).',
  ],
  // Governance: policy bundles, proposals, approvals, grants.
  GATOS_E_POLICY_BUNDLE: [
    ExitStatus.invalid,
    'A policy bundle, activation or governance record is malformed or does not match what it names.',
  ],
  GATOS_E_POLICY_QUORUM: [
    ExitStatus.deny,
    "The approvals do not meet the active policy's governance rule (distinct registered keys are counted).",
  ],
  GATOS_E_POLICY_ROLLBACK: [
    ExitStatus.deny,
    'The policy version does not exceed the active one; re-activating an older policy is refused.',
  ],
  GATOS_E_PROPOSAL_NOT_FOUND: [ExitStatus.notFound, 'No proposal with that id.'],
  GATOS_E_GOV_STATE: [
    ExitStatus.conflict,
    'The governance step does not fit the current state (revoked, already granted, no active policy, ...).',
  ],
  // Message bus (M3).
  GATOS_E_BUS_TOPIC: [ExitStatus.invalid, 'The bus topic name is invalid (1-64 chars of a-z, 0-9, _ and -).'],
  GATOS_E_BUS_GROUP: [
    ExitStatus.invalid,
    'The consumer group name is invalid (1-64 chars of a-z, 0-9, _ and -).',
  ],
  GATOS_E_BUS_POSITION: [ExitStatus.notFound, 'The ack target is not a live message of the topic.'],
  GATOS_E_BUS_CORRUPT: [
    ExitStatus.verify,
    'A bus segment, summary or consumer position is malformed or does not verify.',
  ],
  GATOS_E_BUS_LIMIT: [ExitStatus.limit, 'A bus limit was exceeded (segments per day).'],
  // gatosd, the daemon hosting the bus (M3).
  GATOS_E_DAEMON_CONFIG: [
    ExitStatus.usage,
    'The gatosd configuration (file, environment or flags) is invalid.',
  ],
  GATOS_E_DAEMON_LOCKED: [
    ExitStatus.conflict,
    'Another gatosd holds the repository lock (`gatosd.lock` in the git dir) and its process is alive.',
  ],
  GATOS_E_HTTP_AUTH: [ExitStatus.deny, 'The HTTP request has no bearer token or the wrong one.'],
  GATOS_E_HTTP_BAD_REQUEST: [
    ExitStatus.invalid,
    'The HTTP request body is not valid JSON or does not have the expected shape.',
  ],
  GATOS_E_HTTP_TOO_LARGE: [ExitStatus.limit, 'The HTTP request body exceeds the daemon limit.'],
  GATOS_E_HTTP_NOT_FOUND: [ExitStatus.notFound, 'No HTTP route matches the request.'],
  GATOS_E_HTTP_FORBIDDEN: [
    ExitStatus.deny,
    'The HTTP request names a host the daemon does not serve, or comes from a foreign web origin.',
  ],
  GATOS_E_HTTP_MEDIA_TYPE: [ExitStatus.invalid, 'An HTTP write whose body is not `application/json`.'],
  GATOS_E_HTTP_UNAVAILABLE: [
    ExitStatus.io,
    'The daemon is shutting down and takes no new writes; retry later.',
  ],

  // Job plane (M4).
  GATOS_E_JOB_MANIFEST: [
    ExitStatus.invalid,
    'The job manifest is malformed: a field is missing, has the wrong type, or a name or limit is invalid.',
  ],
  GATOS_E_JOB_NOT_FOUND: [
    ExitStatus.notFound,
    'No job with that id: its manifest ref does not exist here (fetch the job plane first).',
  ],
  GATOS_E_JOB_CLAIMED: [
    ExitStatus.conflict,
    'The job is claimed by another worker whose lease has not expired, or is already done.',
  ],
  GATOS_E_JOB_LEASE_LOST: [
    ExitStatus.conflict,
    'The worker no longer holds the claim (its lease expired and another worker took it, or it was released).',
  ],
  GATOS_E_JOB_RESULT_EXISTS: [
    ExitStatus.conflict,
    'The job already has a result; a second (late) result is refused.',
  ],
  GATOS_E_JOB_RUNTIME: [
    ExitStatus.invalid,
    'This worker cannot run the program: its runtime differs from the one the manifest pins, or the kind is not runnable here.',
  ],
  GATOS_E_JOB_RECORD: [
    ExitStatus.invalid,
    'A job record (claim, result or proof) is malformed or does not match the job.',
  ],
  GATOS_E_JOB_VERIFY: [
    ExitStatus.verify,
    'Proof-of-Execution verification failed: signature, program, inputs or outputs do not match the repository.',
  ],
  GATOS_E_REMOTE: [ExitStatus.io, 'A git fetch or push to the shared repository failed (not a lost race).'],
  GATOS_E_DAEMON_UNREACHABLE: [
    ExitStatus.io,
    'gatosd cannot be reached at the given URL (`--daemon` or `$GATOSD_URL`): not running or wrong address.',
  ],
} as const satisfies Record<string, readonly [number, string]>;

/** A stable GATOS error code. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Options for {@link GatosError}. */
export interface GatosErrorInit {
  /** Structured details, safe to print as JSON. */
  data?: Record<string, unknown>;
  /** What the user can do about it. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** The one error type GATOS throws on purpose. */
export class GatosError extends Error {
  /** Stable code from {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Structured details. */
  readonly data: Record<string, unknown>;
  /** What the user can do about it. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, init: GatosErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GatosError';
    this.code = code;
    this.data = init.data ?? {};
    this.hint = init.hint;
  }

  /** The exit status the CLI uses for this error. */
  get exitStatus(): number {
    return ErrorCodes[this.code][0];
  }

  /** A JSON-safe view for `--json` output. */
  toJSON(): { code: ErrorCode; message: string; hint?: string; data: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      data: this.data,
    };
  }
}

/** True when `e` is a {@link GatosError} (works across package copies, unlike `instanceof`). */
export function isGatosError(e: unknown, code?: ErrorCode): e is GatosError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'GatosError' &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (code === undefined || (e as { code: string }).code === code)
  );
}
