/** The broker seam and its in-memory implementation. */
export * from './types';
export * from './message-id';
export * from './simple-broker';
export * from './subscription-registry';
