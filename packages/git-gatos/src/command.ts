/** What every CLI command module exports, and what its handler gets and returns. */
import type { Argv } from 'yargs';

/** Options every command accepts. */
export interface GlobalArgs {
  json: boolean;
  C?: string;
}

/** The outside world a command touches, injected so tests and the daemon can drive commands in-process. */
export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<Buffer>;
  /** The wall clock: used only for event timestamps the user did not give. */
  now: () => Date;
  /** Cryptographic randomness: key seeds, ULIDs, backoff jitter. */
  randomBytes: (n: number) => Uint8Array;
}

/** What a handler returns: a JSON value for `--json`, and lines for people. */
export interface CommandResult {
  json: unknown;
  human: string | string[];
  /** Non-zero when the command ran but found a problem (e.g. verification failed). */
  exitCode?: number;
}

/** A command module: one file per command, loaded only when that command runs. */
export interface CommandModule<A = Record<string, unknown>> {
  builder: (y: Argv<GlobalArgs>) => Argv<A>;
  handler: (argv: A & GlobalArgs, io: CliIo) => Promise<CommandResult>;
}
