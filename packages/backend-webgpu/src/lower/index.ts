import {
  type ForwardOpName,
  InternalError,
  type NodeBase,
  type NodeOf,
  type OpName,
  type OpTable,
  shapeSize,
} from '@cardinal/core';
import { type ConvProblem, packConvWeights, planConvTiling, renderConv } from '../codegen/conv.js';
import { renderChannelAffine, renderElementwise } from '../codegen/elementwise.js';
import type { Activation } from '../codegen/epilogue.js';
import {
  reduceChunks,
  renderConstant,
  renderMatMul,
  renderPad,
  renderReduce,
  renderReduceFinish,
} from '../codegen/gather.js';
import { groupInvStd, groupMean, renderGroupNormApply } from '../codegen/group-norm.js';
import type { KernelSource, RenderLimits } from '../codegen/kernel.js';
import { f32Literal } from '../codegen/kernel.js';
import { renderAxisCopy, renderTranspose } from '../codegen/layout.js';
import { renderBlurPool } from '../codegen/norm.js';
import { renderGlobalAvgPool, renderPool } from '../codegen/pool.js';
import { packLinearWeights, renderLinear, renderSoftmax } from '../codegen/reduce.js';
import type { FusedGroup, FusionRole } from '../plan/fuse.js';
import type { LowerOptions, PlanStep } from '../plan/lower.js';
import { kernelStep, param, twoLevelSteps } from './steps.js';

/** What lowering one fused group needs: the group, shapes, weights, limits, and a view registry. */
export interface GroupContext {
  group: FusedGroup;
  shape(t: string): number[];
  /** A step running `kernel` for the group's head: its first input, the epilogue's operands, the group's output. */
  step(kernel: KernelSource, extra?: Partial<PlanStep>): PlanStep;
  /** A parameter of the head by role (a typed error when it has no value). */
  weight(role: string): Float32Array;
  limits: RenderLimits;
  options: LowerOptions;
  /** Records that `view` is `of`'s storage (reshape and flatten move no data). */
  alias(view: string, of: string): void;
  /** A tensor of the plan only (a kernel's intermediate), named after the head node; its name. */
  scratch(suffix: string, shape: readonly number[]): string;
}

function axisView(shape: readonly number[], axis: number) {
  const a = axis < 0 ? axis + shape.length : axis;
  return {
    outer: shapeSize(shape.slice(0, a)),
    len: shape[a]!,
    inner: shapeSize(shape.slice(a + 1)),
    axis: a,
  };
}

const input = (c: GroupContext) => c.shape(c.group.head.inputs[0]!);

const SPATIAL_HEAD = { operands: 'full-or-channel', ownBuffers: 4 } as const;
const ELEMENTWISE_HEAD = { operands: 'broadcast', ownBuffers: 2 } as const;

const relu: Activation = { name: 'relu', expr: (v, zero) => `max(${v}, ${zero})` };
/** Written so that neither branch overflows: exp of a non-positive number only. */
const sigmoid: Activation = {
  name: 'sigmoid',
  expr: (v) => `sigmoid_(${v})`,
  helper: (t, zero) => `fn sigmoid_(x: ${t}) -> ${t} {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= ${zero});
}
`,
};

/** An activation made from its node's typed attributes; the node's op is checked, not cast. */
function withAttrs<O extends OpName>(op: O, make: (n: NodeOf<O>) => Activation) {
  const isOp = (n: NodeBase & { op: OpName }): n is NodeOf<O> => n.op === op;
  return (n: NodeBase & { op: OpName }): Activation => {
    if (!isOp(n)) throw new InternalError(`${n.path}: the ${op} activation was given a ${n.op} node`);
    return make(n);
  };
}
const F = f32Literal;
const leakyRelu = withAttrs('leakyRelu', ({ attrs: { alpha } }) => ({
  name: 'leakyRelu',
  expr: (v, zero) => `select(${v} * ${F(alpha)}, ${v}, ${v} >= ${zero})`,
}));
const hardSigmoid = withAttrs('hardSigmoid', ({ attrs: { alpha, beta } }) => ({
  name: 'hardSigmoid',
  expr: (v) => `clamp(${v} * ${F(alpha)} + ${F(beta)}, 0.0, 1.0)`,
}));
const hardSwish: Activation = {
  name: 'hardSwish',
  expr: (v) => `(${v} * clamp(${v} + 3.0, 0.0, 6.0) / 6.0)`,
};
const clip = withAttrs('clip', ({ attrs: { min, max } }) => ({
  name: 'clip',
  expr: (v) => `clamp(${v}, ${F(min)}, ${F(max)})`,
}));

/** What may fuse, per op (see FusionRole): the one declaration, beside the lowerings. */
export const FUSION: { readonly [O in OpName]?: FusionRole } = {
  conv2d: { head: SPATIAL_HEAD },
  batchNorm: { head: SPATIAL_HEAD },
  globalAvgPool: { head: { operands: 'full-or-channel', ownBuffers: 2 } },
  add: { head: ELEMENTWISE_HEAD, step: 'binary' },
  mul: { head: ELEMENTWISE_HEAD, step: 'binary' },
  relu: { head: ELEMENTWISE_HEAD, step: relu },
  sigmoid: { head: ELEMENTWISE_HEAD, step: sigmoid },
  leakyRelu: { head: ELEMENTWISE_HEAD, step: leakyRelu },
  hardSigmoid: { head: ELEMENTWISE_HEAD, step: hardSigmoid },
  hardSwish: { head: ELEMENTWISE_HEAD, step: hardSwish },
  clip: { head: ELEMENTWISE_HEAD, step: clip },
  // Not commutative: they head a kernel but are not absorbed as a step (the fused value is their first input only sometimes).
  sub: { head: ELEMENTWISE_HEAD },
  div: { head: ELEMENTWISE_HEAD },
};

type ElementwiseOp =
  | 'relu'
  | 'sigmoid'
  | 'leakyRelu'
  | 'hardSigmoid'
  | 'hardSwish'
  | 'clip'
  | 'add'
  | 'mul'
  | 'sub'
  | 'div';

/** An element-wise op as a kernel of its own: its activation or binary op, then its epilogue. */
function elementwise(n: NodeOf<ElementwiseOp>, c: GroupContext): PlanStep[] {
  const g = c.group;
  const operands = [...n.inputs, ...g.operands];
  const declared = FUSION[n.op]?.step;
  const act = typeof declared === 'function' ? declared(n) : declared;
  const own = typeof act === 'object' ? [{ op: 'activation' as const, act }] : [];
  const binary =
    n.op === 'add' || n.op === 'mul' || n.op === 'sub' || n.op === 'div'
      ? [{ op: n.op, operand: 1, index: 'full' as const }]
      : [];
  const shift = n.inputs.length;
  const rest = g.steps.map((s) => ('operand' in s ? { ...s, operand: s.operand + shift } : s));
  const kernel = renderElementwise(
    { shape: c.shape(g.output), operandShapes: operands.map(c.shape), steps: [...own, ...binary, ...rest] },
    c.limits,
  );
  return [c.step(kernel, { inputs: [], operands })];
}

function pool(n: NodeOf<'maxPool' | 'avgPool'>, c: GroupContext): PlanStep[] {
  const xs = input(c);
  const [, , oh, ow] = c.shape(n.outputs[0]!) as [number, number, number, number];
  const mode = n.op === 'maxPool' ? ('max' as const) : ('avg' as const);
  return [
    c.step(
      renderPool({ n: xs[0]!, c: xs[1]!, h: xs[2]!, w: xs[3]!, oh, ow, attrs: n.attrs, mode }, c.limits),
    ),
  ];
}

/** Axis copies: split reads one slice per output, concat writes one per input. */
function axisCopies(n: NodeOf<'split' | 'concat'>, c: GroupContext): PlanStep[] {
  const whole = n.op === 'split' ? c.shape(n.inputs[0]!) : c.shape(n.outputs[0]!);
  const v = axisView(whole, n.attrs.axis);
  const parts = n.op === 'split' ? n.outputs : n.inputs;
  let offset = 0;
  return parts.map((part) => {
    const len = c.shape(part)[v.axis]!;
    const [src, dst] =
      n.op === 'split'
        ? [
            { len: v.len, off: offset },
            { len, off: 0 },
          ]
        : [
            { len, off: 0 },
            { len: v.len, off: offset },
          ];
    const k = renderAxisCopy(
      {
        outer: v.outer,
        inner: v.inner,
        len,
        srcLen: src.len,
        srcOffset: src.off,
        dstLen: dst.len,
        dstOffset: dst.off,
      },
      c.limits,
      n.op,
    );
    offset += len;
    return n.op === 'split'
      ? c.step(k, { output: part, operands: [] })
      : c.step(k, { inputs: [part], output: n.outputs[0]!, operands: [] });
  });
}

/** conv1d over [N, C, L] as a conv2d over [N, C, 1, L]: the weight [O, I, K] is [O, I, 1, K] in memory. */
function conv1d(n: NodeOf<'conv1d'>, c: GroupContext): PlanStep[] {
  const [batch, cin, l] = input(c) as [number, number, number];
  const a = n.attrs;
  const attrs = {
    outChannels: a.outChannels,
    kernel: [1, a.kernel] as [number, number],
    stride: [1, a.stride] as [number, number],
    padding: [0, a.padding[0], 0, a.padding[1]] as [number, number, number, number],
    dilation: [1, a.dilation] as [number, number],
    groups: a.groups,
    bias: a.bias,
  };
  const ow = c.shape(n.outputs[0]!)[2]!;
  return convStep(n, c, { n: batch, cin, h: 1, w: l, oh: 1, ow, attrs, epilogue: c.group.steps });
}

/** One conv kernel for a problem, with its packed weight and bias (zeros when it has none). */
function convStep(n: NodeBase, c: GroupContext, problem: ConvProblem): PlanStep[] {
  const a = problem.attrs;
  const tiling = planConvTiling(problem, c.options.convTiling);
  return [
    c.step(renderConv(problem, tiling, c.limits), {
      constants: {
        weight: {
          key: `${n.name}.weight/${tiling.tco}`,
          make: () => packConvWeights(c.weight('weight'), a, tiling),
        },
        bias: {
          key: `${n.name}.bias`,
          make: () => (a.bias ? c.weight('bias') : new Float32Array(a.outChannels)),
        },
      },
    }),
  ];
}

/** A reduction: one kernel, or chunks into scratch and a kernel combining them (long reductions). */
function reduce(c: GroupContext, rawAxes: readonly number[], mode: 'sum' | 'mean' | 'max'): PlanStep[] {
  const shape = input(c);
  const axes = rawAxes.map((a) => (a < 0 ? a + shape.length : a));
  const count = shapeSize(axes.map((a) => shape[a]!));
  const first = renderReduce({ shape, axes, mode }, c.limits);
  if (reduceChunks(count) === 1) return [c.step(first)];
  const outputs = shapeSize(c.shape(c.group.output));
  const partials = c.scratch('partials', [outputs * reduceChunks(count)]);
  return [
    c.step(first, { output: partials }),
    c.step(renderReduceFinish({ outputs, count, mode }, c.limits), { inputs: [partials] }),
  ];
}

/** One function per IR op: the kernels (plan steps) its fused group runs. */
export const LOWER: OpTable<[GroupContext], PlanStep[], ForwardOpName> = {
  conv2d(n, c) {
    const xs = input(c);
    const a = n.attrs;
    const [, , oh, ow] = c.shape(n.outputs[0]!) as [number, number, number, number];
    return convStep(n, c, {
      n: xs[0]!,
      cin: xs[1]!,
      h: xs[2]!,
      w: xs[3]!,
      oh,
      ow,
      attrs: a,
      epilogue: c.group.steps,
    });
  },
  batchNorm(n, c) {
    const xs = input(c);
    const ch = xs[1]!;
    // Scale and shift come from the same four parameters: computed once, on first upload.
    let affine: { scale: Float32Array; shift: Float32Array } | undefined;
    const makeAffine = () => {
      if (affine) return affine;
      const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map(
        c.weight,
      ) as [Float32Array, Float32Array, Float32Array, Float32Array];
      const scale = new Float32Array(ch);
      const shift = new Float32Array(ch);
      for (let i = 0; i < ch; i++) {
        const s = gamma[i]! / Math.sqrt(variance[i]! + n.attrs.eps);
        scale[i] = s;
        shift[i] = beta[i]! - mean[i]! * s;
      }
      affine = { scale, shift };
      return affine;
    };
    return [
      c.step(renderChannelAffine({ shape: xs, epilogue: c.group.steps }, c.limits), {
        constants: {
          scale: { key: `${n.name}.scale`, make: () => makeAffine().scale },
          shift: { key: `${n.name}.shift`, make: () => makeAffine().shift },
        },
      }),
    ];
  },
  relu: elementwise,
  sigmoid: elementwise,
  add: elementwise,
  mul: elementwise,
  maxPool: pool,
  avgPool: pool,
  globalAvgPool(_, c) {
    const xs = input(c);
    return [
      c.step(
        renderGlobalAvgPool({ n: xs[0]!, c: xs[1]!, hw: xs[2]! * xs[3]!, epilogue: c.group.steps }, c.limits),
      ),
    ];
  },
  softmax: (n, c) => [c.step(renderSoftmax(axisView(input(c), n.attrs.axis), c.limits))],
  linear(n, c) {
    const { outFeatures: outF, bias } = n.attrs;
    const inF = input(c)[1]!;
    return [
      c.step(renderLinear({ n: input(c)[0]!, inF, outF, bias }, c.limits), {
        constants: {
          weight: { key: `${n.name}.weight`, make: () => packLinearWeights(c.weight('weight'), inF, outF) },
          ...(bias ? { bias: { key: `${n.name}.bias`, make: () => c.weight('bias') } } : {}),
        },
      }),
    ];
  },
  reshape(n, c) {
    c.alias(n.outputs[0]!, n.inputs[0]!);
    return [];
  },
  flatten(n, c) {
    c.alias(n.outputs[0]!, n.inputs[0]!);
    return [];
  },
  transpose: (n, c) => [c.step(renderTranspose({ shape: input(c), perm: n.attrs.perm }, c.limits))],
  split: axisCopies,
  concat: axisCopies,
  sub: elementwise,
  div: elementwise,
  leakyRelu: elementwise,
  hardSigmoid: elementwise,
  hardSwish: elementwise,
  clip: elementwise,
  globalMaxPool: (_, c) => reduce(c, [2, 3], 'max'),
  reduceMean: (n, c) => reduce(c, n.attrs.axes, 'mean'),
  reduceSum: (n, c) => reduce(c, n.attrs.axes, 'sum'),
  matMul: (n, c) => [
    c.step(renderMatMul({ a: input(c), b: c.shape(n.inputs[1]!), out: c.shape(n.outputs[0]!) }, c.limits), {
      inputs: [...n.inputs],
    }),
  ],
  pad: (n, c) => [c.step(renderPad({ shape: input(c), ...n.attrs }, c.limits))],
  conv1d,
  groupNorm(n, c) {
    const xs = input(c);
    const x = n.inputs[0]!;
    const p = {
      n: xs[0]!,
      c: xs[1]!,
      inner: shapeSize(xs.slice(2)),
      groups: n.attrs.groups,
      eps: n.attrs.eps,
    };
    const mean = c.scratch('mean', [p.n * p.groups]);
    const inv = c.scratch('inv', [p.n * p.groups]);
    return [
      ...twoLevelSteps(c, groupMean(p, c.limits), [x], mean),
      ...twoLevelSteps(c, groupInvStd(p, c.limits), [x, mean], inv),
      kernelStep(c, renderGroupNormApply(p, c.limits), [x, mean, inv], n.outputs[0]!, {
        weight: param(c, n.name, 'weight'),
        bias: param(c, n.name, 'bias'),
      }),
    ];
  },
  blurPool(n, c) {
    const [batch, ch, h, w] = input(c) as [number, number, number, number];
    return [c.step(renderBlurPool({ n: batch, c: ch, h, w, ...n.attrs }, c.limits))];
  },
  // Training-only (prepareForInference removes them): views of their input, like reshape.
  dropPath(n, c) {
    c.alias(n.outputs[0]!, n.inputs[0]!);
    return [];
  },
  dropBlock(n, c) {
    c.alias(n.outputs[0]!, n.inputs[0]!);
    return [];
  },
  constant: (n, c) => [
    c.step(renderConstant(shapeSize(n.attrs.shape), c.limits), {
      inputs: [],
      constants: { value: { key: `${n.name}.value`, make: () => c.weight('value') } },
    }),
  ],
};
