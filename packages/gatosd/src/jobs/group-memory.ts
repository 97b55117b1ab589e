/**
 * Resident memory of a process group, from `/proc` (Linux). Used as the outer memory cap of a job: it counts
 * every process the program started, runtime included, which neither `--max-old-space-size` nor a wasm
 * memory limit does.
 */
import { readdirSync, readFileSync } from 'node:fs';

let pageSize: number | undefined;

/** Bytes per page, derived once from this process (statm counts pages, status reports kB). */
function pageBytes(): number {
  if (pageSize === undefined) {
    pageSize = 4096;
    try {
      const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
      // Both readings move a little between the two reads: round to the nearest power of two.
      if (pages > 0 && kb > 0) pageSize = 2 ** Math.round(Math.log2((kb * 1024) / pages));
    } catch {
      /* not Linux: the caller sees null from groupRssBytes */
    }
  }
  return pageSize;
}

/** True when this platform exposes per-process memory under `/proc`. */
export function canMeasureGroupMemory(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** Total RSS in bytes of the processes whose process group is `pgid`; null when `/proc` is unavailable. */
export function groupRssBytes(pgid: number): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return null;
  }
  const page = pageBytes();
  let total = 0;
  for (const pid of pids) {
    const c = pid.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // Exited while we looked.
    }
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): pgrp is field 5, rss (pages) field 24.
    if (Number(f[2]) === pgid) total += Number(f[21]) * page;
  }
  return total;
}
