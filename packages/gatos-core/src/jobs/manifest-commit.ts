/**
 * The manifest commit (`refs/gatos/jobs/<job-id>/manifest`): tree `manifest.cbor`, `program/<path>`,
 * `inputs/<name>`; no parent; fixed ident; message `gatos job <job-id>\n`. Derived from the manifest and the
 * bytes it names only, so every submitter of the same job makes the same commit. Normative text:
 * `spec/job-plane.md` § 2.
 */
import { GatosError } from '../errors.js';
import type { GitObject, Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { filesCommit, filesUnder, readCommitFiles } from './commit-files.js';
import { contentDigest } from './fields.js';
import { type JobManifest, decodeManifest, encodeManifest, jobIdOf } from './manifest.js';

/** File name of the manifest in its commit's tree. */
export const MANIFEST_FILE = 'manifest.cbor';
/** Directory of the program files in the manifest commit's tree. */
export const PROGRAM_DIR = 'program';
/** Directory of the inputs in the manifest commit's tree. */
export const INPUTS_DIR = 'inputs';

/** A mismatch between listed files (path, digest, size) and the bytes at hand. */
export interface FileProblem {
  /** The listed path or name (or the unexpected one). */
  file: string;
  message: string;
}

/**
 * Compares a list of `{path|name, digest, size}` with the bytes given for it: every listed file present with
 * that digest and size, no file that is not listed. Returns every problem (empty when all match).
 */
export function compareFiles(
  listed: readonly { path?: string; name?: string; digest: string; size: number }[],
  bytes: ReadonlyMap<string, Uint8Array>,
  what: string,
): FileProblem[] {
  const out: FileProblem[] = [];
  const names = new Set<string>();
  for (const f of listed) {
    const name = (f.path ?? f.name)!;
    names.add(name);
    const b = bytes.get(name);
    if (b === undefined) {
      out.push({ file: name, message: `${what} ${name} is missing` });
      continue;
    }
    if (b.length !== f.size)
      out.push({ file: name, message: `${what} ${name} is ${b.length} bytes, listed as ${f.size}` });
    const d = contentDigest(b);
    if (d !== f.digest)
      out.push({ file: name, message: `${what} ${name} has digest ${d}, listed as ${f.digest}` });
  }
  for (const name of bytes.keys()) {
    if (!names.has(name)) out.push({ file: name, message: `${what} ${name} is not listed` });
  }
  return out;
}

/** Input of {@link manifestCommitObjects}. */
export interface ManifestCommitInput {
  manifest: JobManifest;
  /** Program file path → bytes: exactly the manifest's `program.files`. */
  programFiles: ReadonlyMap<string, Uint8Array>;
  /** Input name → bytes: exactly the manifest's `inputs`. */
  inputFiles: ReadonlyMap<string, Uint8Array>;
}

/** A manifest commit and what it needs. */
export interface ManifestCommit {
  jobId: string;
  manifestBytes: Uint8Array;
  commit: GitObject;
  objects: GitObject[];
}

/**
 * Builds the manifest commit. Validates and encodes the manifest; every program file and input must be given
 * with the listed digest and size and nothing else (`GATOS_E_JOB_MANIFEST`, `data.path` `program.files` or
 * `inputs`, `data.file`).
 */
export function manifestCommitObjects(input: ManifestCommitInput): ManifestCommit {
  const manifestBytes = encodeManifest(input.manifest);
  const m = input.manifest;
  for (const [path, list, files, what] of [
    ['program.files', m.program.files, input.programFiles, 'program file'],
    ['inputs', m.inputs, input.inputFiles, 'input'],
  ] as const) {
    const p = compareFiles(list, files, what)[0];
    if (p) {
      throw new GatosError('GATOS_E_JOB_MANIFEST', `manifest ${path}: ${p.message}`, {
        data: { path, file: p.file },
      });
    }
  }
  const jobId = jobIdOf(manifestBytes);
  const files = new Map<string, Uint8Array>([[MANIFEST_FILE, manifestBytes]]);
  for (const f of m.program.files) files.set(`${PROGRAM_DIR}/${f.path}`, input.programFiles.get(f.path)!);
  for (const f of m.inputs) files.set(`${INPUTS_DIR}/${f.name}`, input.inputFiles.get(f.name)!);
  const built = filesCommit(files, [], `gatos job ${jobId}\n`);
  return { jobId, manifestBytes, commit: built.commit, objects: built.objects };
}

/** A manifest commit as read from a store. */
export interface ManifestCommitData {
  /** The commit id. */
  commit: Oid;
  jobId: string;
  manifest: JobManifest;
  manifestBytes: Uint8Array;
  programFiles: Map<string, Uint8Array>;
  inputFiles: Map<string, Uint8Array>;
  /** Files of the tree that are neither the manifest, a program file nor an input. */
  strayFiles: string[];
  /** True when the commit is exactly the one {@link manifestCommitObjects} builds (parents, ident, message). */
  canonical: boolean;
}

function recordError(oid: Oid, message: string, data: Record<string, unknown> = {}): GatosError {
  return new GatosError('GATOS_E_JOB_RECORD', `manifest commit ${oid.slice(0, 12)}: ${message}`, {
    data: { commit: oid, ...data },
  });
}

/**
 * Reads a manifest commit. `manifest.cbor` must decode ({@link decodeManifest}). With `strict` (default) every
 * program file and input must match the manifest and the commit must be exactly the canonical one
 * (`GATOS_E_JOB_RECORD`, `data.file` naming the first file that does not match); with `strict: false` the files
 * are returned as found, for {@link verifyExecution} to report every mismatch.
 */
export async function readManifestCommit(
  objects: ObjectStore,
  oid: Oid,
  opts: { strict?: boolean } = {},
): Promise<ManifestCommitData> {
  const { commit, files } = await readCommitFiles(objects, oid);
  const manifestBytes = files.get(MANIFEST_FILE);
  if (!manifestBytes) throw recordError(oid, `has no ${MANIFEST_FILE}`, { file: MANIFEST_FILE });
  const manifest = decodeManifest(manifestBytes);
  const jobId = jobIdOf(manifestBytes);
  const programFiles = filesUnder(files, PROGRAM_DIR);
  const inputFiles = filesUnder(files, INPUTS_DIR);
  const strayFiles = [...files.keys()].filter(
    (p) => p !== MANIFEST_FILE && !p.startsWith(`${PROGRAM_DIR}/`) && !p.startsWith(`${INPUTS_DIR}/`),
  );
  let canonical = false;
  const problems = [
    ...compareFiles(manifest.program.files, programFiles, 'program file').map((p) => ({
      ...p,
      file: `${PROGRAM_DIR}/${p.file}`,
    })),
    ...compareFiles(manifest.inputs, inputFiles, 'input').map((p) => ({
      ...p,
      file: `${INPUTS_DIR}/${p.file}`,
    })),
    ...strayFiles.map((f) => ({ file: f, message: `unexpected file ${f}` })),
  ];
  if (problems.length === 0) {
    canonical = manifestCommitObjects({ manifest, programFiles, inputFiles }).commit.oid === oid;
  }
  if (opts.strict ?? true) {
    const p = problems[0];
    if (p) throw recordError(oid, p.message, { file: p.file, jobId });
    if (!canonical || commit.parents.length !== 0) {
      throw recordError(oid, 'is not the canonical manifest commit (parents, ident or message differ)', {
        jobId,
      });
    }
  }
  return { commit: oid, jobId, manifest, manifestBytes, programFiles, inputFiles, strayFiles, canonical };
}
