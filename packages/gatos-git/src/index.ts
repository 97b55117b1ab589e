/**
 * @gatos/git — the git adapter under the pure core: locating a repository, writing objects (loose or one
 * packfile per batch), pipelined reads through `git cat-file`, and compare-and-swap refs on git's lock protocol.
 */
export { type OpenRepositoryOptions, openRepository, type Repository } from './repository.js';
export { type GitEnv, type GitTarget, isAncestor, type RunGitOptions, runGit } from './run-git.js';
export { createObjectStore, DEFAULT_PACK_THRESHOLD, type ObjectStoreOptions } from './object-store.js';
export {
  createRefStore,
  DEFAULT_LIST_SPAWN_THRESHOLD,
  DEFAULT_STALE_LOCK_MS,
  type RefStoreOptions,
} from './ref-store.js';
export { checkRefName, isValidRefName } from './ref-name.js';
export {
  decodeEntries,
  type EncodedPack,
  encodeEntries,
  encodePack,
  type PackEntry,
} from './pack-writer.js';
export * from './remote.js';
export * from './remote-ref-store.js';
