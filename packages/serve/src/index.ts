/// <reference types="node" preserve="true" />
// Its declarations name Node's types (Buffer and the like): the reference says so to a consumer
// whose TypeScript (6.0 and later) includes no @types by default.
// @cardinal/serve: an Open Inference Protocol server (serve), its dynamic batcher, the
// protocol's request and response codec, Prometheus metrics, and Triton model repositories.
export * from './batcher.js';
export * from './metrics.js';
export * from './model.js';
export * from './protocol.js';
export * from './server.js';
export * from './triton.js';
