/** Reading command inputs: inline JSON, `@file`, or `-` for stdin. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GatosError } from '@gatos/core';
import type { CliIo } from './command.js';

/** Reads text from a path, or stdin for `-`. */
export async function readTextInput(io: CliIo, path: string): Promise<string> {
  if (path === '-') return (await io.readStdin()).toString('utf8');
  try {
    return await readFile(resolve(io.cwd, path), 'utf8');
  } catch (cause) {
    throw new GatosError('GATOS_E_INPUT_FILE', `cannot read ${path}`, { cause, data: { path } });
  }
}

/** Parses `--payload`-style input: JSON text, `@file` or `-`. Throws `GATOS_E_INPUT_JSON`. */
export async function readJsonArg(io: CliIo, arg: string): Promise<unknown> {
  const text =
    arg === '-' || arg.startsWith('@') ? await readTextInput(io, arg === '-' ? '-' : arg.slice(1)) : arg;
  return parseJson(text, arg.startsWith('@') ? arg.slice(1) : 'argument');
}

/** JSON.parse with a GATOS error. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new GatosError('GATOS_E_INPUT_JSON', `${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** A JSON-safe view of plain data: bytes become `{"/": {"bytes": base64}}` as in DAG-JSON. */
export function toJsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return { '/': { bytes: Buffer.from(v).toString('base64') } };
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

/** Reads a JSON Lines file (or `-`): one JSON object per non-blank line, with its 1-based line number. */
export async function readJsonLines(
  io: CliIo,
  path: string,
): Promise<{ value: Record<string, unknown>; line: number }[]> {
  const text = await readTextInput(io, path);
  const out: { value: Record<string, unknown>; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const value = parseJson(raw, `${path} line ${i + 1}`);
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new GatosError('GATOS_E_ENVELOPE_SHAPE', `${path} line ${i + 1}: expected a JSON object`);
    }
    out.push({ value: value as Record<string, unknown>, line: i + 1 });
  });
  return out;
}
