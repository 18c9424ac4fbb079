// Errors
export * from './errors.js';
// Tensors and the IR
export * from './tensor.js';
export type * from './ir/graph.js';
export { GraphBuilder, type SymbolicTensor, type Conv2dOptions, type PoolOptions, type Pair, type Padding } from './ir/builder.js';
// Ops
export { OPS, OP_NAMES, getOp } from './ops/registry.js';
export type { OpDef, ParamRequirement, ReferenceArgs, ShapeContext } from './ops/op-def.js';
export { readConv2dAttrs, convOutLength, type Conv2dAttrs } from './ops/conv2d.js';
export { readPoolAttrs, poolOutLength, type PoolAttrs } from './ops/pooling.js';
export { resolveReshape } from './ops/shape-ops.js';
export { broadcastShape } from './ops/elementwise.js';
// Backends and the reference executor
export type { Backend, Availability, CompileOptions, Executable } from './backend.js';
export { runReference, referenceBackend, checkInputs, type ReferenceRunOptions } from './executor/reference.js';
// Weights and tensor files
export * from './weights/safetensors.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './weights/dtypes.js';
export * from './weights/load.js';
export { initWeights, initParam } from './weights/init.js';
export { readNpy, writeNpy, readRawF32 } from './io/npy.js';
// Builders
export { getPadding, makeDivisible, convNormAct, type ConvNormActOptions } from './builders/common.js';
export * from './builders/attention.js';
export * from './builders/blocks.js';
export { resnet, resolveResNetConfig, type ResNetConfig, type BuildOptions, type StemType } from './builders/resnet.js';
export { buildBlockGraph, blockConfigSchema, BLOCK_MODULES, type BlockConfigJson } from './builders/block-config.js';
export * from './builders/resnext-forms.js';
// Configs, the zoo, model specs
export { parseResNetConfig, resnetConfigToJson, resnetConfigSchema, type ResNetConfigJson } from './config.js';
export { ZOO, zooNames, getZooEntry, createModel, type ZooEntry } from './zoo/zoo.js';
export { buildFromJson, buildModel, type BuiltModel, type ModelSpecOptions } from './model-spec.js';
// Passes, summary, serialisation
export { validateGraph } from './passes/validate.js';
export { inferShapes } from './passes/infer-shapes.js';
export { foldBatchNorm, type FoldedModel } from './passes/fold-batchnorm.js';
export { removeIdentities, isIdentity } from './passes/remove-identities.js';
export { summarize, summarizeStages, type ModelSummary, type LayerSummary, type StageSummary } from './summary.js';
export { serializeGraph, parseGraph, graphToDocument, graphFromDocument, GRAPH_FORMAT, GRAPH_FORMAT_VERSION, type GraphDocument } from './serialize.js';
