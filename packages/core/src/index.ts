// @cardinal/core's public API, by folder (kept in path order by the formatter, so the paths are
// the sections): backend contract and kit; builders/ (blocks, ResNet, block configs); config/
// (timm configs); cost limits; errors; executor/ (reference); io/; ir/ (graph, attrs, builder,
// op tables); layers/ (conv-norm-act, SE, SK, split attention); model specs; ops/; passes/;
// random; serialisation; summary; tensors; weights/; zoo/.
export * from './backend-entry.js';
export {
  BLOCK_MODULES,
  type BlockConfigJson,
  blockConfigSchema,
  buildBlockGraph,
} from './builders/block-config.js';
export * from './builders/blocks.js';
export {
  aaKind,
  type BuildOptions,
  buildResNet,
  type FeatureInfo,
  type FeatureOptions,
  resnet,
} from './builders/resnet.js';
export { CONFIG_LIMITS, formatIssues } from './config/parse.js';
export {
  BLOCK_NAMES,
  type BlockArgs,
  type BlockName,
  blockName,
  type ConfigKnob,
  configReference,
  parseResNetConfig,
  type ResNetConfig,
  type ResNetConfigJson,
  type ResolvedConfig,
  type ResolvedResNetConfig,
  resnetConfigSchema,
  resnetConfigToJson,
  resolveResNetConfig,
  type SkKwargs,
  type StemType,
} from './config/resnet.js';
export * from './cost.js';
export * from './errors.js';
export { ClassificationMetrics, type ClassificationReport, confusionSvg } from './eval/metrics.js';
export {
  checkInputs,
  type ReferenceRunOptions,
  referenceBackend,
  runReference,
} from './executor/reference.js';
export type { GradEmitter, GradResult, GradRule, GradTensor } from './grad/rule.js';
export {
  type TrainingGraph,
  type TrainingGraphOptions,
  type TrainingLoss,
  trainingGraph,
} from './grad/training-graph.js';
export { flipHorizontal, randomCropFlipBatch, randomResizedCrop } from './image/augment.js';
export {
  centerCrop,
  defaultPreprocess,
  IMAGENET_DEFAULTS,
  type PreprocessConfig,
  type PreprocessOrigin,
  type PreprocessSources,
  preprocessImages,
  resizeShorter,
  resolvePreprocess,
  toChannels,
  transformImage,
} from './image/preprocess.js';
export { type Box, type Image8, type Interpolation, resizeImage } from './image/resample.js';
export { type IdxArray, idxImagesAndLabels, readIdx } from './io/idx.js';
export { jsonNestingDepth, jsonTooDeep, MAX_JSON_DEPTH } from './io/json-depth.js';
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
export { dispatchOp, type OpTable, requireParam, requireWeight } from './ir/op-table.js';
export * from './layers/attention.js';
export { type ConvNormActOptions, convNormAct, getPadding, makeDivisible } from './layers/common.js';
export {
  type BuiltModel,
  buildFromJson,
  buildModel,
  type ModelSpecOptions,
  parseInputShape,
} from './model-spec.js';
export { type AttrField, type AttrSchema, resolveAttrs } from './ops/attrs.js';
export { binomialTaps, blurOutLength, blurPadding, reflectIndex } from './ops/blur-pool.js';
export { conv1dOutLength } from './ops/conv1d.js';
export { convOutLength, convOutSize } from './ops/conv2d.js';
export { broadcastShape } from './ops/elementwise.js';
export type { OpDef, ParamRequirement, ReferenceArgs, ShapeContext } from './ops/op-def.js';
export { avgPoolAxis, blurAxis } from './ops/pool-grad.js';
export { poolOutLength, poolOutSize } from './ops/pooling.js';
export {
  FORWARD_OP_NAMES,
  type ForwardOpName,
  getOp,
  OP_NAMES,
  OPS,
  resolveNodeAttrs,
  TRAINING_OPS,
  type TrainingOpName,
} from './ops/registry.js';
export { resolveReshape } from './ops/shape-ops.js';
export { type FoldedModel, foldBatchNorm } from './passes/fold-batchnorm.js';
export { inferShapes } from './passes/infer-shapes.js';
export { isIdentity, removeIdentities } from './passes/remove-identities.js';
export { validateGraph } from './passes/validate.js';
export { type ClassScore, classify, defaultLabels, withFeatureOutput } from './pretrained/classify.js';
export { IMAGENET_1K_LABELS } from './pretrained/imagenet-labels.js';
export { RANDOM_WEIGHTS_WARNING, randomWeightsFields } from './pretrained/random-weights.js';
export {
  buildPretrained,
  buildPretrainedModel,
  describeAsTimm,
  type PretrainedConfig,
  parsePretrainedConfig,
  pretrainedConfigJson,
  type TimmConfigJson,
} from './pretrained/timm-config.js';
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
export * from './tensor.js';
export type { Batch, EpochRow, TrainData } from './train/data.js';
export { type LrSchedule, learningRateAt } from './train/schedule.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './weights/dtypes.js';
export { initParam, initTestWeights, initWeights } from './weights/init.js';
export * from './weights/load.js';
export * from './weights/metadata.js';
export * from './weights/safetensors.js';
export {
  type CheckpointOptions,
  isTorchCheckpoint,
  type LoadedCheckpoint,
  readTorchCheckpoint,
} from './weights/torch/checkpoint.js';
export {
  buildZooModel,
  createModel,
  getZooEntry,
  type ShippedWeights,
  similarZooNames,
  ZOO,
  type ZooEntry,
  zooNames,
} from './zoo/zoo.js';
