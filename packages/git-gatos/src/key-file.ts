/** Private key files: shared with gatosd, which signs with the same keys. */
export { type KeyFile, createKeyFile, deleteKeyFile, keysDir, listKeyFiles } from '@gatos/gatosd';
