import { formatShape, ShapeError } from '../errors.js';
import type { GradTensor } from '../grad/rule.js';
import type { OpDef, ParamRequirement } from './op-def.js';

/** y = x W^T + b with W of shape [out, in], as torch.nn.Linear. */
export const linearOp: OpDef<'linear'> = {
  name: 'linear',
  arity: [1, 1],
  attrs: { outFeatures: { kind: 'int' }, bias: { kind: 'bool', default: true } },
  inferShapes(shapes, attrs, ctx) {
    const x = shapes[0]!;
    if (x.length !== 2)
      throw new ShapeError(`${ctx.path}: linear expects a 2-D [N, features] input, got ${formatShape(x)}`);
    return [[x[0]!, attrs.outFeatures]];
  },
  params(shapes, attrs) {
    const inF = shapes[0]![1]!;
    const outF = attrs.outFeatures;
    const init = { kind: 'uniformFanIn', fanIn: inF } as const;
    const req: ParamRequirement[] = [
      { role: 'weight', shape: [outF, inF], kind: 'parameter', dtype: 'float32', init },
    ];
    if (attrs.bias) {
      req.push({ role: 'bias', shape: [outF], kind: 'parameter', dtype: 'float32', init });
    }
    return req;
  },
  macs: (shapes, outShapes) => shapes[0]![0]! * shapes[0]![1]! * outShapes[0]![1]!,
  reference({ inputs, params, attrs }) {
    const x = inputs[0]!;
    const [n, inF] = x.shape as [number, number];
    const outF = attrs.outFeatures;
    const w = params.weight!.data;
    const b = params.bias?.data;
    const out = new Float32Array(n * outF);
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < outF; o++) {
        let s = b ? b[o]! : 0;
        const wb = o * inF;
        const xb = r * inF;
        for (let i = 0; i < inF; i++) s += x.data[xb + i]! * w[wb + i]!;
        out[r * outF + o] = s;
      }
    }
    return [{ shape: [n, outF], data: out }];
  },
  // dx = dy W, dW = dy^T x, db = the sum of dy over the batch.
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const w = g.param(node.params.weight!);
    const dx = g.op('matMul', [dy, w], {})[0]!;
    const dyT = g.op('transpose', [dy], { perm: [1, 0] })[0]!;
    const params: Record<string, GradTensor> = { weight: g.op('matMul', [dyT, x], {})[0]! };
    if (node.attrs.bias) params.bias = g.op('reduceSum', [dy], { axes: [0], keepDims: false })[0]!;
    return { inputs: [dx], params };
  },
};
