import {
  type Graph,
  type GraphNode,
  readConv2dAttrs,
  readPoolAttrs,
  shapeSize,
  type WeightMap,
} from '@cardinal/core';
import { type ConvTiling, packConvWeights, planConvTiling, renderConv } from '../codegen/conv.js';
import { renderChannelAffine, renderElementwise } from '../codegen/elementwise.js';
import type { KernelSource, RenderLimits } from '../codegen/kernel.js';
import { renderAxisCopy, renderTranspose } from '../codegen/layout.js';
import { renderGlobalAvgPool, renderPool } from '../codegen/pool.js';
import { packLinearWeights, renderLinear, renderSoftmax } from '../codegen/reduce.js';
import { type FusedGroup, fuseEpilogues } from './fuse.js';

/** A constant buffer of a step: packed once, shared by every plan that asks for its key. */
export interface PlanConstant {
  key: string;
  make: () => Float32Array;
}

/** One dispatch: a kernel and the tensors and constants bound to it. */
export interface PlanStep {
  /** The module path of the node that heads the kernel, for profiles and errors. */
  path: string;
  kernel: KernelSource;
  inputs: string[];
  operands: string[];
  output: string;
  constants: Record<string, PlanConstant>;
}

export interface Plan {
  steps: PlanStep[];
  /** Views: a reshape's output is its input's storage. Maps a tensor to the tensor it views. */
  aliases: Map<string, string>;
  /** Byte size of every tensor's storage. */
  sizes: Map<string, number>;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
}

/** Heads whose kernels take an epilogue. */
const FUSABLE_HEADS = new Set(['conv2d', 'batchNorm', 'globalAvgPool', 'add', 'mul', 'relu', 'sigmoid']);

function axisView(shape: readonly number[], axis: number) {
  const a = axis < 0 ? axis + shape.length : axis;
  return {
    outer: shapeSize(shape.slice(0, a)),
    len: shape[a]!,
    inner: shapeSize(shape.slice(a + 1)),
    axis: a,
  };
}

function weightOf(weights: WeightMap, node: GraphNode, role: string): Float32Array {
  const key = node.params[role];
  const t = key ? weights.get(key) : undefined;
  if (!t) throw new Error(`${node.path}: no value for parameter '${key ?? role}'`);
  return t.data;
}

/**
 * Lowers a graph (BatchNorm already folded, shapes static) to a list of kernels. Code
 * generation is the renderers' job; this decides what each kernel covers and what it binds.
 */
export interface LowerOptions {
  /** Force a conv tiling (benchmarks); default: chosen per conv by shape. */
  convTiling?: Partial<ConvTiling>;
}

export function lowerGraph(
  graph: Graph,
  weights: WeightMap,
  limits: RenderLimits,
  options: LowerOptions = {},
): Plan {
  const shape = (t: string) => graph.tensors[t]!.shape;
  const groups = fuseEpilogues(graph, {
    operandIndex(head, s, out) {
      const same = s.length === out.length && s.every((d, i) => d === out[i]);
      if (head.op === 'conv2d' || head.op === 'batchNorm' || head.op === 'globalAvgPool') {
        if (same) return 'full';
        const channel = s.length === 4 && s[0] === out[0] && s[1] === out[1] && s[2] === 1 && s[3] === 1;
        return channel ? 'channel' : undefined;
      }
      return head.op === 'add' || head.op === 'mul' || head.op === 'relu' || head.op === 'sigmoid'
        ? 'full'
        : undefined;
    },
    accepts: (head) => FUSABLE_HEADS.has(head.op),
    maxOperands(head) {
      const fixed = head.op === 'conv2d' || head.op === 'batchNorm' ? 4 : 2;
      return Math.max(0, Math.min(4, limits.maxStorageBuffersPerStage - fixed));
    },
  });
  const aliases = new Map<string, string>();
  const steps: PlanStep[] = [];
  for (const g of groups) steps.push(...lowerGroup(g));
  const root = (t: string): string => {
    let r = t;
    while (aliases.has(r)) r = aliases.get(r)!;
    return r;
  };
  const sizes = new Map<string, number>();
  for (const [name, spec] of Object.entries(graph.tensors)) {
    const r = root(name);
    sizes.set(r, Math.max(sizes.get(r) ?? 0, shapeSize(spec.shape) * 4));
  }
  return {
    steps,
    aliases,
    sizes,
    inputs: graph.inputs.map((i) => ({ name: i.name, shape: [...i.shape] })),
    outputs: graph.outputs.map((o) => ({ name: o, shape: [...shape(o)] })),
  };

  function lowerGroup(g: FusedGroup): PlanStep[] {
    const n = g.head;
    const x = n.inputs[0]!;
    const xs = shape(x);
    const step = (kernel: KernelSource, extra: Partial<PlanStep> = {}): PlanStep => ({
      path: n.path || n.name,
      kernel,
      inputs: [x],
      operands: g.operands,
      output: g.output,
      constants: {},
      ...extra,
    });
    switch (n.op) {
      case 'conv2d': {
        const a = readConv2dAttrs(n.attrs);
        const [, , oh, ow] = shape(n.outputs[0]!) as [number, number, number, number];
        const problem = { n: xs[0]!, cin: xs[1]!, h: xs[2]!, w: xs[3]!, oh, ow, attrs: a, epilogue: g.steps };
        const tiling = planConvTiling(problem, options.convTiling);
        return [
          step(renderConv(problem, tiling, limits), {
            constants: {
              weight: {
                key: `${n.name}.weight/${tiling.tco}`,
                make: () => packConvWeights(weightOf(weights, n, 'weight'), a, tiling),
              },
              bias: {
                key: `${n.name}.bias`,
                make: () => (a.bias ? weightOf(weights, n, 'bias') : new Float32Array(a.outChannels)),
              },
            },
          }),
        ];
      }
      case 'batchNorm': {
        const eps = typeof n.attrs.eps === 'number' ? n.attrs.eps : 1e-5;
        const c = xs[1]!;
        // Scale and shift come from the same four parameters: computed once, on first upload.
        let affine: { scale: Float32Array; shift: Float32Array } | undefined;
        const makeAffine = () => {
          if (affine) return affine;
          const gamma = weightOf(weights, n, 'weight');
          const beta = weightOf(weights, n, 'bias');
          const mean = weightOf(weights, n, 'running_mean');
          const variance = weightOf(weights, n, 'running_var');
          const scale = new Float32Array(c);
          const shift = new Float32Array(c);
          for (let i = 0; i < c; i++) {
            const s = gamma[i]! / Math.sqrt(variance[i]! + eps);
            scale[i] = s;
            shift[i] = beta[i]! - mean[i]! * s;
          }
          affine = { scale, shift };
          return affine;
        };
        return [
          step(renderChannelAffine({ shape: xs, epilogue: g.steps }, limits), {
            constants: {
              scale: { key: `${n.name}.scale`, make: () => makeAffine().scale },
              shift: { key: `${n.name}.shift`, make: () => makeAffine().shift },
            },
          }),
        ];
      }
      case 'relu':
      case 'sigmoid':
      case 'add':
      case 'mul': {
        const operands = [...n.inputs, ...g.operands];
        const own = n.op === 'relu' || n.op === 'sigmoid' ? [{ op: n.op }] : [];
        const binary =
          n.op === 'add' || n.op === 'mul' ? [{ op: n.op, operand: 1, index: 'full' as const }] : [];
        const shift = n.inputs.length;
        const rest = g.steps.map((s) => ('operand' in s ? { ...s, operand: s.operand + shift } : s));
        const kernel = renderElementwise(
          { shape: shape(g.output), operandShapes: operands.map(shape), steps: [...own, ...binary, ...rest] },
          limits,
        );
        return [step(kernel, { inputs: [], operands })];
      }
      case 'maxPool':
      case 'avgPool': {
        const [, , oh, ow] = shape(n.outputs[0]!) as [number, number, number, number];
        const problem = {
          n: xs[0]!,
          c: xs[1]!,
          h: xs[2]!,
          w: xs[3]!,
          oh,
          ow,
          attrs: readPoolAttrs(n.attrs),
          mode: n.op === 'maxPool' ? ('max' as const) : ('avg' as const),
        };
        return [step(renderPool(problem, limits))];
      }
      case 'globalAvgPool':
        return [
          step(renderGlobalAvgPool({ n: xs[0]!, c: xs[1]!, hw: xs[2]! * xs[3]!, epilogue: g.steps }, limits)),
        ];
      case 'softmax': {
        const v = axisView(xs, Number(n.attrs.axis));
        return [step(renderSoftmax(v, limits))];
      }
      case 'linear': {
        const outF = Number(n.attrs.outFeatures);
        const inF = xs[1]!;
        const bias = n.attrs.bias !== false;
        return [
          step(renderLinear({ n: xs[0]!, inF, outF, bias }, limits), {
            constants: {
              weight: {
                key: `${n.name}.weight`,
                make: () => packLinearWeights(weightOf(weights, n, 'weight'), inF, outF),
              },
              ...(bias ? { bias: { key: `${n.name}.bias`, make: () => weightOf(weights, n, 'bias') } } : {}),
            },
          }),
        ];
      }
      case 'reshape':
      case 'flatten':
        aliases.set(n.outputs[0]!, x);
        return [];
      case 'transpose':
        return [step(renderTranspose({ shape: xs, perm: n.attrs.perm as number[] }, limits))];
      case 'split': {
        const v = axisView(xs, Number(n.attrs.axis));
        let offset = 0;
        return n.outputs.map((out) => {
          const len = shape(out)[v.axis]!;
          const k = renderAxisCopy(
            {
              outer: v.outer,
              inner: v.inner,
              len,
              srcLen: v.len,
              srcOffset: offset,
              dstLen: len,
              dstOffset: 0,
            },
            limits,
            'split',
          );
          offset += len;
          return step(k, { output: out, operands: [] });
        });
      }
      case 'concat': {
        const out = n.outputs[0]!;
        const v = axisView(shape(out), Number(n.attrs.axis));
        let offset = 0;
        return n.inputs.map((inp) => {
          const len = shape(inp)[v.axis]!;
          const k = renderAxisCopy(
            {
              outer: v.outer,
              inner: v.inner,
              len,
              srcLen: len,
              srcOffset: 0,
              dstLen: v.len,
              dstOffset: offset,
            },
            limits,
            'concat',
          );
          offset += len;
          return step(k, { inputs: [inp], output: out, operands: [] });
        });
      }
    }
  }
}
