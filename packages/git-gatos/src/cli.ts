/**
 * The `git gatos` entry point: picks the command, loads only its module, runs it, and maps every error to a
 * stable code and exit status in one place.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCodes, GatosError, isGatosError } from '@gatos/core/errors';
import { GATOS_PREFIX } from '@gatos/core/ref-layout';
import yargs, { type Argv } from 'yargs';
import type { CliIo, CommandModule, CommandResult, GlobalArgs } from './command.js';
import { COMMANDS, GROUPS } from './registry.js';

/** The real process's I/O. */
export function processIo(): CliIo {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
    now: () => new Date(),
    randomBytes: (n) => randomBytes(n),
  };
}

function selectCommand(args: string[]): (typeof COMMANDS)[number] | undefined {
  // Option values are not command words (`-C <dir>` is the one global option that takes a value).
  const words = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-C');
  const matches = COMMANDS.filter((c) => c.words.every((w, i) => words[i] === w));
  return matches.sort((a, b) => b.words.length - a.words.length)[0];
}

const inGroup = (entry: (typeof COMMANDS)[number]) => entry.words.length > 1 || entry.usage.startsWith('$0');

function render(result: CommandResult, json: boolean, io: CliIo): void {
  if (json) io.stdout(`${JSON.stringify(result.json, null, 2)}\n`);
  else {
    const lines = Array.isArray(result.human) ? result.human : [result.human];
    if (lines.length) io.stdout(`${lines.join('\n')}\n`);
  }
}

function reportError(e: unknown, json: boolean, io: CliIo): number {
  const err = isGatosError(e)
    ? e
    : new GatosError('GATOS_E_INTERNAL', e instanceof Error ? e.message : String(e), {
        data: { stack: e instanceof Error ? e.stack : undefined },
      });
  if (json) io.stdout(`${JSON.stringify({ ok: false, error: err.toJSON() }, null, 2)}\n`);
  else {
    io.stderr(`error: ${err.message} [${err.code}]\n`);
    if (err.hint) io.stderr(`hint: ${err.hint}\n`);
  }
  return ErrorCodes[err.code]?.[0] ?? 1;
}

/** Builds the yargs parser; only the selected command's module is loaded. */
function buildParser(args: string[], selected: CommandModule | undefined, io: CliIo): Argv<GlobalArgs> {
  let y = yargs(args)
    .scriptName('git gatos')
    .usage(
      `git gatos <command> [options]\n\nGATOS keeps signed events, state and proofs in git refs under ${GATOS_PREFIX}*.\n` +
        'Help: `git gatos help [command]` or `git gatos <command> -h`.',
    )
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON on stdout' })
    .option('C', { type: 'string', describe: 'Run as if started in this directory', requiresArg: true })
    .strict()
    .demandCommand(1, 'Name a command; `git gatos help` lists them.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new GatosError('GATOS_E_USAGE', msg, { hint: 'See `git gatos help`.' });
    })
    .epilogue('Docs: docs/cli.md · error codes: docs/errors.md') as unknown as Argv<GlobalArgs>;
  const attach = (entry: (typeof COMMANDS)[number], parent: Argv<GlobalArgs>): Argv<GlobalArgs> =>
    parent.command(
      entry.usage,
      entry.describe,
      (sub: Argv<GlobalArgs>) => (selected && entry === selectCommand(args) ? selected.builder(sub) : sub),
      () => {},
    ) as unknown as Argv<GlobalArgs>;
  const groups = new Set<string>();
  for (const entry of COMMANDS) {
    if (!inGroup(entry)) {
      y = attach(entry, y);
      continue;
    }
    const group = entry.words[0]!;
    if (groups.has(group)) continue;
    groups.add(group);
    const children = COMMANDS.filter((c) => c.words[0] === group && inGroup(c));
    const hasDefault = children.some((c) => c.usage.startsWith('$0'));
    y = y.command(
      hasDefault ? group : `${group} <command>`,
      GROUPS[group] ?? group,
      (sub: Argv<GlobalArgs>) => {
        let s = hasDefault ? sub : sub.demandCommand(1, `Name a ${group} command.`);
        for (const child of children) s = attach(child, s);
        return s;
      },
    ) as unknown as Argv<GlobalArgs>;
  }
  void io;
  return y;
}

/** Runs the CLI with `args`; returns the exit status (and sets `process.exitCode` when run as a program). */
export async function run(argsIn: string[], io: CliIo = processIo()): Promise<number> {
  // `git gatos --help` is answered by git itself (it looks for a man page), so `help` and `-h` are ours.
  const args = argsIn[0] === 'help' ? [...argsIn.slice(1), '--help'] : argsIn;
  const json = args.includes('--json');
  try {
    const entry = selectCommand(args);
    const mod = entry ? await entry.load() : undefined;
    let helpShown = false;
    const parser = buildParser(args, mod, io);
    const argv = (await parser
      .help()
      .alias('h', 'help')
      .version()
      .parseAsync(args, {}, (err, _argv, output) => {
        if (output && !err) {
          helpShown = true;
          io.stdout(`${output}\n`);
        }
      })) as unknown as GlobalArgs & Record<string, unknown>;
    if (helpShown) return 0;
    if (!entry || !mod) throw new GatosError('GATOS_E_USAGE', `unknown command: ${args.join(' ')}`);
    const cwd = argv.C ? (await import('node:path')).resolve(io.cwd, argv.C) : io.cwd;
    const result = await mod.handler(argv, { ...io, cwd });
    render(result, argv.json, io);
    return result.exitCode ?? 0;
  } catch (e) {
    return reportError(e, json, io);
  }
}

/** Program entry: runs and sets the process exit code. */
export async function main(args: string[]): Promise<void> {
  process.exitCode = await run(args);
}
