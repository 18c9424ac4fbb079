/// <reference types="node" preserve="true" />
// Its declarations name Node's types (Buffer and the like): the reference says so to a consumer
// whose TypeScript (6.0 and later) includes no @types by default.
// @cardinal/pretrained: pretrained models in Node. Files (safe reads, atomic writes), images
// (decoded as PIL does), weights files (.pth/.bin/.safetensors by content), timm model folders,
// the download cache (https and hf-hub), and classification over image files.

export * from './backends.js';
export * from './classify.js';
export * from './files.js';
export * from './folder.js';
export * from './hub.js';
export * from './idx-data.js';
export * from './images.js';
export * from './model-source.js';
export * from './model-weights.js';
export * from './open-model.js';
export * from './shipped.js';
export * from './weights-file.js';
