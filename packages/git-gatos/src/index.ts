/** git-gatos as a library: run the CLI in-process, with injected I/O (what the tests do). */
export { run, main, processIo } from './cli.js';
export type { CliIo, CommandResult, CommandModule, GlobalArgs } from './command.js';
