export * from './compare.js';
export * from './conformance.js';
export * from './fixtures.js';
export * from './images.js';
export * from './memory.js';
