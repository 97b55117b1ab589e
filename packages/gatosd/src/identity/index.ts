/** `@gatos/gatosd/identity`: local private keys and the one resolver of the acting identity. */
export { type KeyFile, createKeyFile, deleteKeyFile, keySeed, keysDir, listKeyFiles } from './key-file.js';
export { resolveActor, signerFor } from './signer.js';
export { type Identity, type IdentityInit, resolveIdentity } from './identity.js';
