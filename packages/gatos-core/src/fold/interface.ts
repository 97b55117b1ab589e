/** The types of the fold plane (`spec/echolua.md`): an EchoLua engine, a loaded fold, and what a run returns. */
import type { FoldEvent, FoldValue } from './lua-value.js';

/** Options of {@link createEchoLua}. */
export interface EchoLuaOptions {
  /**
   * Fuel budget PER EVENT (per `fold(state, event)` call, including the fresh instantiation of the fold chunk;
   * also the budget of the load-time check). One unit per Lua VM instruction, plus ⌈n/64⌉ per string longer than
   * 40 bytes the fold creates. Exceeding it fails with `GATOS_E_FOLD_FUEL`. A positive safe integer.
   */
  fuel: number;
  /** Cap of the whole Lua heap of this engine, in bytes (at least 1 MiB). Exceeding it: `GATOS_E_FOLD_MEMORY`. */
  memoryBytes: number;
}

/** A `log(...)` line of a fold. */
export interface FoldLog {
  /** Index of the event (0-based, within the batch) whose fold call logged the line. */
  event: number;
  message: string;
}

/** Result of {@link LoadedFold.run}. */
export interface FoldRunResult {
  /** The state after the last event. */
  state: FoldValue;
  /** Sum over the batch's events of the fuel each used (deterministic; independent of batching). */
  fuelUsed: number;
  /** The fold's `log(...)` lines, in order. */
  logs: FoldLog[];
}

/** Options of {@link EchoLua.loadFold}. */
export interface LoadFoldOptions {
  /**
   * `auto` (default): reuse one fold instance for every event when the source passes the static reuse rule
   * (spec/echolua.md § 1.1), else a fresh instance per event. `fresh`: always a fresh instance per event. Both give
   * the same states, fuel and logs; `fresh` exists for tests and comparisons.
   */
  instance?: 'auto' | 'fresh';
}

/** Result of {@link LoadedFold.timedRun}. */
export interface TimedFoldRunResult extends FoldRunResult {
  /** Seconds spent in the metered fold loop alone (the batch already built inside the VM; no encoding). */
  loopSeconds: number;
}

/** A fold loaded into an engine. */
export interface LoadedFold {
  /** The chunk name used in error messages. */
  readonly name: string;
  /** `reuse`: one instance serves every event (spec § 1.1); `fresh`: a fresh instance per event. */
  readonly instance: 'reuse' | 'fresh';
  /** Why the fold is on the fresh path (`null` on the reuse path). */
  readonly freshReason: string | null;
  /** sha256 (hex) of the fold source, UTF-8. */
  readonly sourceSha256: string;
  /**
   * Fold `events` into `state`, in one crossing into the VM. The state and the events are plain JSON-like data
   * with integers only (see spec/echolua.md "Values"). Failures: `GATOS_E_FOLD_FUEL`, `_MEMORY`, `_RUNTIME`,
   * `_STATE`, `_CONTRACT`, each with `data.event` (0-based index in the batch) where it applies.
   */
  run(state: FoldValue, events: readonly FoldEvent[]): Promise<FoldRunResult>;
  /** {@link run}, also timing the metered fold loop alone (for benchmarks: the VM part, like with like). */
  timedRun(state: FoldValue, events: readonly FoldEvent[]): Promise<TimedFoldRunResult>;
  /** Release the compiled fold. */
  unload(): void;
}

/** An EchoLua engine: one Lua VM. Not shareable across threads; calls are serialized. */
export interface EchoLua {
  /** Lint, compile and check a fold (its top level runs once in a fresh instance and must define `fold`). */
  loadFold(source: string, name?: string, opts?: LoadFoldOptions): Promise<LoadedFold>;
  /** Bytes the Lua heap uses now. */
  memoryUsed(): number;
  /** Free the VM. */
  close(): void;
}
