/**
 * Ref name validation: git's `check-ref-format` rules, in TypeScript, plus "must live under refs/".
 *
 * Ref names become file paths under the git dir, so this is also what keeps `..` and friends out of them.
 */
import { GatosError } from '@gatos/core';

/** Why `ref` is not a valid full ref name, or null when it is. */
export function refNameProblem(ref: string): string | null {
  if (typeof ref !== 'string' || ref.length === 0) return 'empty ref name';
  if (!ref.startsWith('refs/')) return 'ref names must start with refs/';
  if (ref.endsWith('/')) return 'ends with /';
  if (ref.endsWith('.')) return 'ends with .';
  if (ref.includes('..')) return 'contains ..';
  if (ref.includes('@{')) return 'contains @{';
  // ASCII control characters, DEL, space and the characters git reserves for revision syntax and globs.
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return 'contains a forbidden character';
  for (const c of ref.split('/')) {
    if (c.length === 0) return 'contains an empty component (//)';
    if (c.startsWith('.')) return 'has a component starting with .';
    if (c.endsWith('.lock')) return 'has a component ending with .lock';
  }
  return null;
}

/** True when `ref` is a valid full ref name under `refs/`. */
export function isValidRefName(ref: string): boolean {
  return refNameProblem(ref) === null;
}

/** Throws `GATOS_E_REF_NAME` unless `ref` is a valid full ref name under `refs/`. */
export function checkRefName(ref: string): void {
  const why = refNameProblem(ref);
  if (why !== null) {
    throw new GatosError('GATOS_E_REF_NAME', `invalid ref name ${JSON.stringify(ref)}: ${why}`, {
      data: { ref, reason: why },
      hint: 'Ref names follow `git check-ref-format`: no `..`, `:`, `?`, `*`, `[`, `\\`, `^`, `~`, spaces, `@{`.',
    });
  }
}

/** Throws `GATOS_E_REF_NAME` unless `prefix` is a safe listing prefix (under `refs/`, no path tricks). */
export function checkRefPrefix(prefix: string): void {
  const ok =
    typeof prefix === 'string' &&
    prefix.startsWith('refs/') &&
    !prefix.includes('..') &&
    !prefix.includes('//') &&
    !/[\x00-\x1f\x7f\\]/.test(prefix) &&
    !prefix.split('/').some((c) => c.startsWith('.'));
  if (!ok) {
    throw new GatosError('GATOS_E_REF_NAME', `invalid ref prefix ${JSON.stringify(prefix)}`, {
      data: { prefix },
    });
  }
}
