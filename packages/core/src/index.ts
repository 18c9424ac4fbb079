// Errors

// Backends and the reference executor
export type { Availability, Backend, CompileOptions, Executable } from './backend.js';
export { DisposeGuard, prepareForInference } from './backend-kit.js';
export * from './builders/attention.js';
export {
  BLOCK_MODULES,
  type BlockConfigJson,
  blockConfigSchema,
  buildBlockGraph,
} from './builders/block-config.js';
export * from './builders/blocks.js';
// Builders
export { type ConvNormActOptions, convNormAct, getPadding, makeDivisible } from './builders/common.js';
export {
  type BuildOptions,
  type ResNetConfig,
  resnet,
  resolveResNetConfig,
  type StemType,
} from './builders/resnet.js';
export * from './builders/resnext-forms.js';
// Configs, the zoo, model specs
export {
  parseResNetConfig,
  type ResNetConfigJson,
  resnetConfigSchema,
  resnetConfigToJson,
} from './config.js';
export * from './cost.js';
export * from './errors.js';
export {
  checkInput,
  checkInputs,
  type ReferenceRunOptions,
  referenceBackend,
  runReference,
} from './executor/reference.js';
export { readNpy, readRawF32, writeNpy } from './io/npy.js';
export type * from './ir/attrs.js';
export {
  type Conv2dOptions,
  GraphBuilder,
  type Padding,
  type Pair,
  type PoolOptions,
  type SymbolicTensor,
} from './ir/builder.js';
export type * from './ir/graph.js';
export { dispatchOp, type OpTable, requireParam } from './ir/op-table.js';
export {
  type BuiltModel,
  buildFromJson,
  buildModel,
  type ModelSpecOptions,
  parseInputShape,
} from './model-spec.js';
// Ops
export { type AttrField, type AttrSchema, resolveAttrs } from './ops/attrs.js';
export { convOutLength, convOutSize } from './ops/conv2d.js';
export { broadcastShape } from './ops/elementwise.js';
export type { OpDef, ParamRequirement, ReferenceArgs, ShapeContext } from './ops/op-def.js';
export { poolOutLength, poolOutSize } from './ops/pooling.js';
export { getOp, OP_NAMES, OPS, resolveNodeAttrs } from './ops/registry.js';
export { resolveReshape } from './ops/shape-ops.js';
export { type FoldedModel, foldBatchNorm } from './passes/fold-batchnorm.js';
export { inferShapes } from './passes/infer-shapes.js';
export { isIdentity, removeIdentities } from './passes/remove-identities.js';
// Passes, summary, serialisation
export { validateGraph } from './passes/validate.js';
export { mulberry32, normalSampler, permutation, randomNormal } from './random.js';
export {
  GRAPH_FORMAT,
  GRAPH_FORMAT_VERSION,
  type GraphDocument,
  graphFromDocument,
  graphToDocument,
  parseGraph,
  serializeGraph,
} from './serialize.js';
export {
  type LayerSummary,
  type ModelSummary,
  type StageSummary,
  summarize,
  summarizeStages,
} from './summary.js';
// Tensors and the IR
export * from './tensor.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './weights/dtypes.js';
export { initParam, initTestWeights, initWeights } from './weights/init.js';
export * from './weights/load.js';
// Weights and tensor files
export * from './weights/safetensors.js';
export { createModel, getZooEntry, similarZooNames, ZOO, type ZooEntry, zooNames } from './zoo/zoo.js';
