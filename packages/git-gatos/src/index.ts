/** git-gatos as a library: run the CLI in-process (used by tests and gatosd). */
export { run, main, processIo } from './cli.js';
export type { CliIo, CommandResult, CommandModule, GlobalArgs } from './command.js';
