/** The broker seam and its in-memory implementation. */
export * from './types';
export * from './message-id';
export * from './simple-broker';
export * from './subscription-registry';
export { PatternIndex, isDestinationPattern, matchesDestination } from './pattern-index';
export type { DestinationSeparator, PatternIndexOptions } from './pattern-index';
export { compileSelector, DEFAULT_SELECTOR_LIMITS } from './selector';
export type { MessageFilter, SelectorOptions } from './selector';
