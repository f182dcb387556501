import { randomBytes } from 'node:crypto';

/**
 * Message ids are `<node id>-<counter>`: the random node id keeps them unique across processes
 * (and relay nodes), the counter keeps them cheap. Counters are base-36 to keep frames short.
 */
export function createIdGenerator(nodeId: string = randomBytes(6).toString('base64url')): () => string {
  let counter = 0;
  const prefix = nodeId + '-';
  return () => prefix + (++counter).toString(36);
}
