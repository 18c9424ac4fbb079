import { UnknownModelError } from '../errors.js';
import type { AttrsOf } from '../ir/attrs.js';
import type { Attrs, OpName } from '../ir/graph.js';
import {
  clipOp,
  hardSigmoidOp,
  hardSwishOp,
  leakyReluOp,
  reluOp,
  sigmoidOp,
  softmaxOp,
} from './activations.js';
import { resolveAttrs } from './attrs.js';
import { batchNormOp } from './batch-norm.js';
import { blurPoolOp } from './blur-pool.js';
import { conv1dOp } from './conv1d.js';
import { conv2dOp } from './conv2d.js';
import { dropBlockOp, dropPathOp } from './drop.js';
import { addOp, divOp, mulOp, subOp } from './elementwise.js';
import { groupNormOp } from './group-norm.js';
import { linearOp } from './linear.js';
import { matMulOp } from './matmul.js';
import type { OpDef, ShapeContext } from './op-def.js';
import { constantOp, padOp } from './pad.js';
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
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

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
