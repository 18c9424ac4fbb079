export * from './fixtures.js';
export * from './compare.js';
export * from './conformance.js';
