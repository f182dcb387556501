/** The codec: bytes ⇄ frames, no I/O. */
export * from './frame';
export * from './versions';
export * from './commands';
export * from './escape';
export * from './decoder';
export * from './encoder';
