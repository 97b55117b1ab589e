/** Choosing the acting identity and its signer: shared with gatosd. */
export { resolveActor, signerFor } from '@gatos/gatosd';
