import { UnknownModelError } from '../errors.js';
import type { OpName } from '../ir/graph.js';
import { reluOp, sigmoidOp, softmaxOp } from './activations.js';
import { batchNormOp } from './batch-norm.js';
import { conv2dOp } from './conv2d.js';
import { addOp, mulOp } from './elementwise.js';
import { linearOp } from './linear.js';
import type { OpDef } from './op-def.js';
import { avgPoolOp, globalAvgPoolOp, maxPoolOp } from './pooling.js';
import { concatOp, flattenOp, reshapeOp, splitOp, transposeOp } from './shape-ops.js';

/** The op registry: one entry per primitive. Adding an op means adding it here. */
export const OPS: Readonly<Record<OpName, OpDef>> = {
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
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function getOp(name: string): OpDef {
  const def = (OPS as Record<string, OpDef | undefined>)[name];
  if (!def) throw new UnknownModelError(`unknown op '${name}'; known ops: ${OP_NAMES.join(', ')}`);
  return def;
}
