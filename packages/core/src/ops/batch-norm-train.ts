import { formatShape, ShapeError } from '../errors.js';
import type { BatchNormAttrs } from '../ir/attrs.js';
import type { Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';
import { batchNormOp } from './batch-norm.js';
import type { OpDef } from './op-def.js';

const bnAttrs: AttrSchema<BatchNormAttrs> = batchNormOp.attrs;

function checkNchw(x: readonly number[], path: string, op: string): [number, number, number] {
  if (x.length < 2) throw new ShapeError(`${path}: ${op} expects at least [N, C], got ${formatShape(x)}`);
  const inner = x.slice(2).reduce((a, b) => a * b, 1);
  return [x[0]!, x[1]!, inner];
}

/** Per-channel mean and biased variance over (N, spatial), in float64. */
function channelStats(x: Tensor): { mean: Float64Array; variance: Float64Array; count: number } {
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  const inner = x.data.length / (n * c);
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * inner;
      for (let i = 0; i < inner; i++) s += x.data[base + i]!;
    }
    const m = s / (n * inner);
    let v = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * inner;
      for (let i = 0; i < inner; i++) v += (x.data[base + i]! - m) ** 2;
    }
    mean[ch] = m;
    variance[ch] = v / (n * inner);
  }
  return { mean, variance, count: n * inner };
}

/**
 * Training-mode BatchNorm2d. Outputs [y, batch mean, inverse std, new running_mean, new
 * running_var]; the running variance takes the unbiased batch variance, as PyTorch's does.
 */
export const batchNormTrainOp: OpDef<'batchNormTrain'> = {
  name: 'batchNormTrain',
  arity: [1, 1],
  attrs: bnAttrs,
  inferShapes(shapes, _a, ctx) {
    const x = shapes[0]!;
    const [n, c, inner] = checkNchw(x, ctx.path, 'batchNormTrain');
    if (n * inner < 2)
      throw new ShapeError(
        `${ctx.path}: training-mode BatchNorm needs more than one value per channel, got input ${formatShape(x)}`,
      );
    return [[...x], [c], [c], [c], [c]];
  },
  params: batchNormOp.params,
  macs: () => 0,
  reference({ inputs, params, attrs }) {
    const x = inputs[0]!;
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const inner = x.data.length / (n * c);
    const { mean, variance, count } = channelStats(x);
    const y = new Float32Array(x.data.length);
    const invStd = new Float32Array(c);
    const runMean = new Float32Array(c);
    const runVar = new Float32Array(c);
    const m = attrs.momentum;
    for (let ch = 0; ch < c; ch++) {
      const inv = 1 / Math.sqrt(variance[ch]! + attrs.eps);
      invStd[ch] = inv;
      const scale = params.weight!.data[ch]! * inv;
      const shift = params.bias!.data[ch]! - mean[ch]! * scale;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) y[base + i] = x.data[base + i]! * scale + shift;
      }
      runMean[ch] = (1 - m) * params.running_mean!.data[ch]! + m * mean[ch]!;
      runVar[ch] = (1 - m) * params.running_var!.data[ch]! + (m * variance[ch]! * count) / (count - 1);
    }
    return [
      { shape: [...x.shape], data: y },
      { shape: [c], data: Float32Array.from(mean) },
      { shape: [c], data: invStd },
      { shape: [c], data: runMean },
      { shape: [c], data: runVar },
    ];
  },
  grad(node, dys, g) {
    const dy = dys[0];
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const mean = g.tensor(node.outputs[1]!);
    const invStd = g.tensor(node.outputs[2]!);
    const [dx, dw, db] = g.op('batchNormGrad', [dy, x, mean, invStd], node.attrs, {
      weight: node.params.weight!,
    });
    return { inputs: [dx], params: { weight: dw!, bias: db! } };
  },
};

/**
 * BatchNorm's backward through the batch statistics: with xhat = (x - mean) * invStd,
 * dbias = sum(dy), dweight = sum(dy * xhat), dx = weight * invStd * (dy - dbias/n - xhat * dweight/n).
 */
export const batchNormGradOp: OpDef<'batchNormGrad'> = {
  name: 'batchNormGrad',
  arity: [4, 4],
  attrs: bnAttrs,
  inferShapes(shapes, _a, ctx) {
    const [dy, x, mean, inv] = shapes as [number[], number[], number[], number[]];
    const c = checkNchw(x, ctx.path, 'batchNormGrad')[1];
    if (formatShape(dy) !== formatShape(x) || mean[0] !== c || inv[0] !== c)
      throw new ShapeError(
        `${ctx.path}: batchNormGrad got dy ${formatShape(dy)}, x ${formatShape(x)}, statistics ${formatShape(mean)}`,
      );
    return [[...x], [c], [c]];
  },
  params: (shapes) => [batchNormOp.params([shapes[1]!], { eps: 1e-5, momentum: 0.1 })[0]!],
  macs: () => 0,
  reference({ inputs, params }) {
    const [dy, x, meanT, invT] = inputs as [Tensor, Tensor, Tensor, Tensor];
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const inner = x.data.length / (n * c);
    const count = n * inner;
    const dx = new Float32Array(x.data.length);
    const dw = new Float32Array(c);
    const db = new Float32Array(c);
    for (let ch = 0; ch < c; ch++) {
      const mean = meanT.data[ch]!;
      const inv = invT.data[ch]!;
      let sumDy = 0;
      let sumDyXhat = 0;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) {
          const d = dy.data[base + i]!;
          sumDy += d;
          sumDyXhat += d * (x.data[base + i]! - mean) * inv;
        }
      }
      db[ch] = sumDy;
      dw[ch] = sumDyXhat;
      const k = params.weight!.data[ch]! * inv;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) {
          const xhat = (x.data[base + i]! - mean) * inv;
          dx[base + i] = k * (dy.data[base + i]! - sumDy / count - (xhat * sumDyXhat) / count);
        }
      }
    }
    return [
      { shape: [...x.shape], data: dx },
      { shape: [c], data: dw },
      { shape: [c], data: db },
    ];
  },
};
