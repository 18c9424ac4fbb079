import { UnknownModelError } from '../errors.js';
import type { AttrsOf } from '../ir/attrs.js';
import type { Attrs, OpName } from '../ir/graph.js';
import {
  clipOp,
  hardSigmoidOp,
  hardSwishOp,
  leakyReluOp,
  logSoftmaxOp,
  reluOp,
  sigmoidOp,
  softmaxOp,
} from './activations.js';
import { resolveAttrs } from './attrs.js';
import { batchNormOp } from './batch-norm.js';
import { batchNormGradOp, batchNormTrainOp } from './batch-norm-train.js';
import { blurPoolOp } from './blur-pool.js';
import { conv1dOp } from './conv1d.js';
import { conv2dOp } from './conv2d.js';
import { conv2dGradInputOp, conv2dGradWeightOp } from './conv2d-grad.js';
import { dropBlockOp, dropPathOp } from './drop.js';
import { addOp, divOp, mulOp, subOp } from './elementwise.js';
import { expandOp, reluGradOp, scaleOp, sigmoidGradOp } from './elementwise-grad.js';
import { groupNormGradOp, groupNormOp } from './group-norm.js';
import { linearOp } from './linear.js';
import { matMulOp } from './matmul.js';
import type { OpDef, ShapeContext } from './op-def.js';
import { constantOp, padOp } from './pad.js';
import { avgPoolGradOp, blurPoolGradOp, maxPoolGradOp } from './pool-grad.js';
import { avgPoolOp, globalAvgPoolOp, globalMaxPoolOp, maxPoolOp } from './pooling.js';
import { reduceMeanOp, reduceSumOp } from './reduce.js';
import { concatOp, flattenOp, reshapeOp, splitOp, transposeOp } from './shape-ops.js';

/** The op registry: one entry per primitive. Adding an op means adding it here. */
export const OPS: { readonly [O in OpName]: OpDef<O> } = {
  conv2d: conv2dOp,
  batchNorm: batchNormOp,
  relu: reluOp,
  sigmoid: sigmoidOp,
  softmax: softmaxOp,
  add: addOp,
  mul: mulOp,
  concat: concatOp,
  split: splitOp,
  reshape: reshapeOp,
  transpose: transposeOp,
  maxPool: maxPoolOp,
  avgPool: avgPoolOp,
  globalAvgPool: globalAvgPoolOp,
  flatten: flattenOp,
  linear: linearOp,
  sub: subOp,
  div: divOp,
  leakyRelu: leakyReluOp,
  hardSigmoid: hardSigmoidOp,
  hardSwish: hardSwishOp,
  clip: clipOp,
  globalMaxPool: globalMaxPoolOp,
  reduceMean: reduceMeanOp,
  reduceSum: reduceSumOp,
  matMul: matMulOp,
  pad: padOp,
  constant: constantOp,
  conv1d: conv1dOp,
  groupNorm: groupNormOp,
  blurPool: blurPoolOp,
  dropPath: dropPathOp,
  dropBlock: dropBlockOp,
  batchNormTrain: batchNormTrainOp,
  batchNormGrad: batchNormGradOp,
  groupNormGrad: groupNormGradOp,
  conv2dGradInput: conv2dGradInputOp,
  conv2dGradWeight: conv2dGradWeightOp,
  reluGrad: reluGradOp,
  sigmoidGrad: sigmoidGradOp,
  maxPoolGrad: maxPoolGradOp,
  avgPoolGrad: avgPoolGradOp,
  blurPoolGrad: blurPoolGradOp,
  expand: expandOp,
  scale: scaleOp,
  logSoftmax: logSoftmaxOp,
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

/**
 * The ops only training graphs hold (grad/): training-mode forms, the loss's log-softmax and the
 * backward ops gradient rules emit. A backend that does not lower them yet leaves them out of
 * its supportedOps (FORWARD_OP_NAMES), and compiling a training graph there is refused by name.
 */
export const TRAINING_OPS = [
  'batchNormTrain',
  'batchNormGrad',
  'groupNormGrad',
  'conv2dGradInput',
  'conv2dGradWeight',
  'reluGrad',
  'sigmoidGrad',
  'maxPoolGrad',
  'avgPoolGrad',
  'blurPoolGrad',
  'expand',
  'scale',
  'logSoftmax',
] as const satisfies readonly OpName[];
export type TrainingOpName = (typeof TRAINING_OPS)[number];
export type ForwardOpName = Exclude<OpName, TrainingOpName>;
const trainingOps: ReadonlySet<string> = new Set(TRAINING_OPS);
export const FORWARD_OP_NAMES = OP_NAMES.filter((o): o is ForwardOpName => !trainingOps.has(o));

/**
 * An op's definition by name. For a node of any op, the definition takes that node's attrs
 * (`getOp(node.op).inferShapes(shapes, node.attrs, ctx)`): the one place where TypeScript
 * cannot see that a node's op and its attrs belong together is this cast.
 */
export function getOp<O extends OpName>(name: O): OpDef<O>;
export function getOp(name: string): OpDef<OpName>;
export function getOp(name: string): OpDef<OpName> {
  if (!Object.hasOwn(OPS, name))
    throw new UnknownModelError(`unknown op '${name}'; known ops: ${OP_NAMES.join(', ')}`);
  return OPS[name as OpName] as unknown as OpDef<OpName>;
}

/** Resolves a node's raw attributes for its op: checked, defaults filled, nothing unknown. */
export function resolveNodeAttrs<O extends OpName>(op: O, raw: Attrs, ctx: ShapeContext): AttrsOf<O> {
  return resolveAttrs(getOp(op).attrs, raw, ctx, op);
}
