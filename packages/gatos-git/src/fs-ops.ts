/**
 * The file operations the object and ref writers use, behind one promise-shaped interface with two
 * implementations: real asynchronous I/O on libuv's thread pool ({@link asyncFs}, the default), and synchronous
 * calls that return settled promises ({@link syncFs}).
 *
 * The synchronous set is for a thread that does nothing but write (gatosd's writer thread): there, each of a
 * group commit's ~30 file steps would otherwise be a round trip through the thread pool that waits for a free
 * core on a busy machine, while blocking that thread costs nothing. Both sets run the same writer code, so the
 * lock protocol and crash behaviour are the same.
 */
import {
  type BigIntStats,
  type Dirent,
  close,
  closeSync,
  fstat,
  fstatSync,
  fsync,
  fsyncSync,
  link,
  linkSync,
  mkdir,
  mkdirSync,
  open,
  openSync,
  readdir,
  readdirSync,
  readFile,
  readFileSync,
  rename,
  renameSync,
  rmdir,
  rmdirSync,
  stat,
  statSync,
  unlink,
  unlinkSync,
  writeFile,
  writeFileSync,
} from 'node:fs';

/** File operations on paths and descriptors; every failure is a rejection carrying the errno `code`. */
export interface FsOps {
  /** True for {@link syncFs}. */
  readonly sync: boolean;
  open(path: string, flags: string, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  fstat(fd: number): Promise<BigIntStats>;
  stat(path: string): Promise<BigIntStats>;
  /** Writes all of `data` at the descriptor's position. */
  writeAll(fd: number, data: Uint8Array | string): Promise<void>;
  /** The whole file (from a descriptor's position, or by path). */
  readFile(file: string | number): Promise<Buffer>;
  readdir(path: string): Promise<Dirent[]>;
  /** `mkdir -p`; resolves to the first directory created, if any. */
  mkdirp(path: string): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, name: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

/** Calls a node-style function and settles a promise with its callback. */
function cb<T>(f: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => f((err, value) => (err ? reject(err) : resolve(value))));
}

/** Asynchronous I/O on libuv's thread pool: keeps the calling thread's event loop free. */
export const asyncFs: FsOps = {
  sync: false,
  open: (path, flags, mode) => cb((d) => open(path, flags, mode, d)),
  close: (fd) => cb<void>((d) => close(fd, (e) => d(e ?? null, undefined))),
  fsync: (fd) => cb<void>((d) => fsync(fd, (e) => d(e ?? null, undefined))),
  fstat: (fd) => cb((d) => fstat(fd, { bigint: true }, d)),
  stat: (path) => cb((d) => stat(path, { bigint: true }, d)),
  writeAll: (fd, data) => cb<void>((d) => writeFile(fd, data, (e) => d(e ?? null, undefined))),
  readFile: (file) => cb((d) => readFile(file, d)),
  readdir: (path) => cb((d) => readdir(path, { withFileTypes: true }, d)),
  mkdirp: (path) => cb((d) => mkdir(path, { recursive: true }, d)),
  rename: (from, to) => cb<void>((d) => rename(from, to, (e) => d(e ?? null, undefined))),
  link: (existing, name) => cb<void>((d) => link(existing, name, (e) => d(e ?? null, undefined))),
  unlink: (path) => cb<void>((d) => unlink(path, (e) => d(e ?? null, undefined))),
  rmdir: (path) => cb<void>((d) => rmdir(path, (e) => d(e ?? null, undefined))),
};

/** Synchronous calls behind settled promises: no thread-pool round trips, but they block the calling thread. */
export const syncFs: FsOps = {
  sync: true,
  open: async (path, flags, mode) => openSync(path, flags, mode),
  close: async (fd) => closeSync(fd),
  fsync: async (fd) => fsyncSync(fd),
  fstat: async (fd) => fstatSync(fd, { bigint: true }),
  stat: async (path) => statSync(path, { bigint: true }),
  writeAll: async (fd, data) => writeFileSync(fd, data),
  readFile: async (file) => readFileSync(file),
  readdir: async (path) => readdirSync(path, { withFileTypes: true }),
  mkdirp: async (path) => mkdirSync(path, { recursive: true }),
  rename: async (from, to) => renameSync(from, to),
  link: async (existing, name) => linkSync(existing, name),
  unlink: async (path) => unlinkSync(path),
  rmdir: async (path) => rmdirSync(path),
};
