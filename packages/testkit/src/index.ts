/// <reference types="node" preserve="true" />
// Its declarations name Node's types (Buffer and the like): the reference says so to a consumer
// whose TypeScript (6.0 and later) includes no @types by default.
export * from './compare.js';
export * from './conformance.js';
export * from './fixtures.js';
export * from './images.js';
export * from './memory.js';
export * from './train-fixtures.js';
