import {
  binomialTaps,
  dispatchOp,
  type Graph,
  type GraphNode,
  type NodeOf,
  poolOutSize,
} from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import { fromPlain, toPlain, type Value } from './layout.js';
import {
  type ConvPlan,
  type ConvStrategy,
  type PreparedFilter,
  planConv,
  prepareFilter,
  undilated,
} from './lower/conv.js';
import { APPLY } from './lower/index.js';
import { avgDivisors } from './lower/pool.js';
import type { Tf } from './runtime.js';

/** Parameters by state_dict key, in PyTorch's layout (constants for inference, variables for training). */
export type ParamSource = (key: string) => TF.Tensor;

/** Per-node tensors made from the parameters: filters in the strategy's layout, BN scale and shift. */
export interface NodePrep {
  filter?: PreparedFilter;
  /** Conv attrs to run with, when training replaced dilation by a dilated filter. */
  convAttrs?: import('@cardinal/core').Conv2dAttrs;
  bias?: TF.Tensor;
  scale?: TF.Tensor;
  shift?: TF.Tensor;
  gamma?: TF.Tensor;
  beta?: TF.Tensor;
  weightT?: TF.Tensor;
  /** A constant node's value. */
  value?: TF.Tensor;
}

/** Batch statistics a train-mode BatchNorm saw, for the running-statistics update. */
export interface BatchStats {
  mean: TF.Tensor;
  variance: TF.Tensor;
  count: number;
}

export interface ProgramOptions {
  /** Force one grouped-convolution strategy (benchmarks, tests); default: the rule in planConv. */
  convStrategy?: ConvStrategy;
}

/**
 * A graph turned into tfjs calls. `prepare` makes the per-node tensors from parameters (once
 * for inference; inside the gradient tape for training, so gradients flow to PyTorch-layout
 * variables); `forward` runs the nodes.
 */
export class Program {
  readonly plans = new Map<string, ConvPlan>();
  private readonly divisorCache = new Map<string, TF.Tensor>();

  constructor(
    readonly tf: Tf,
    readonly graph: Graph,
    readonly options: ProgramOptions = {},
  ) {
    for (const node of graph.nodes) {
      if (node.op === 'conv2d') {
        const a = node.attrs;
        const [, cin, h, w] = graph.tensors[node.inputs[0]!]!.shape as [number, number, number, number];
        this.plans.set(node.name, planConv(a, cin, options.convStrategy, h * w));
      }
    }
  }

  prepare(param: ParamSource, training: boolean): Map<string, NodePrep> {
    const tf = this.tf;
    const prep = new Map<string, NodePrep>();
    for (const node of this.graph.nodes) {
      const p = node.params;
      if (node.op === 'conv2d') {
        const a = node.attrs;
        const filter = prepareFilter(tf, param(p.weight!), a, this.plans.get(node.name)!);
        // tfjs has no gradients for dilated convolutions (nor for the strided slice that a
        // stride-and-dilation conv needs): training runs them with the dilation in the filter.
        const t = training ? undilated(tf, filter, a) : { filter, attrs: a };
        prep.set(node.name, {
          filter: t.filter,
          convAttrs: t.attrs,
          bias: p.bias ? param(p.bias) : undefined,
        });
      } else if (node.op === 'batchNorm') {
        const eps = node.attrs.eps;
        if (training) {
          prep.set(node.name, { gamma: param(p.weight!), beta: param(p.bias!) });
        } else {
          const scale = tf.div(param(p.weight!), tf.sqrt(tf.add(param(p.running_var!), eps)));
          const shift = tf.sub(param(p.bias!), tf.mul(param(p.running_mean!), scale));
          prep.set(node.name, { scale, shift });
        }
      } else if (node.op === 'conv1d') {
        // Per tap k an [in, out] matrix: PyTorch's Conv1d weight [out, in, k] as [k, in, out].
        prep.set(node.name, {
          weightT: param(p.weight!).transpose([2, 1, 0]),
          bias: p.bias ? param(p.bias) : undefined,
        });
      } else if (node.op === 'groupNorm') {
        prep.set(node.name, { gamma: param(p.weight!), beta: param(p.bias!) });
      } else if (node.op === 'blurPool') {
        const { filterSize: k } = node.attrs;
        const c = this.graph.tensors[node.inputs[0]!]!.shape[1]!;
        const taps = binomialTaps(k);
        const f = new Float32Array(k * k * c);
        // depthwiseConv2d's filter: [k, k, C, 1], the same taps for every channel.
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) f.fill(taps[i]! * taps[j]!, (i * k + j) * c, (i * k + j + 1) * c);
        prep.set(node.name, { value: tf.tensor4d(f, [k, k, c, 1]) });
      } else if (node.op === 'constant') {
        prep.set(node.name, { value: param(p.value!) });
      } else if (node.op === 'linear') {
        prep.set(node.name, {
          weightT: param(p.weight!).transpose(),
          bias: p.bias ? param(p.bias) : undefined,
        });
      }
    }
    return prep;
  }

  /** Runs the graph on NCHW inputs; returns NCHW outputs. Train mode records BatchNorm statistics. */
  forward(
    inputs: Readonly<Record<string, TF.Tensor>>,
    prep: Map<string, NodePrep>,
    training = false,
    stats?: Map<string, BatchStats>,
    noise?: () => number,
  ): Record<string, TF.Tensor> {
    const env = new Map<string, Value>();
    for (const spec of this.graph.inputs) env.set(spec.name, fromPlain(inputs[spec.name]!));
    for (const node of this.graph.nodes) {
      const args = node.inputs.map((t) => env.get(t)!);
      const outs = this.apply(node, args, prep.get(node.name) ?? {}, training, stats, noise);
      for (const [i, name] of node.outputs.entries()) env.set(name, outs[i]!);
    }
    const result: Record<string, TF.Tensor> = {};
    for (const name of this.graph.outputs) result[name] = toPlain(env.get(name)!);
    return result;
  }

  /** PyTorch's average-pool divisors for this input size, made once and kept. */
  private divisors(node: NodeOf<'avgPool'>, h: number, w: number): TF.Tensor {
    const key = `${node.name}@${h}x${w}`;
    let d = this.divisorCache.get(key);
    if (!d) {
      const a = node.attrs;
      const [oh, ow] = poolOutSize(h, w, a);
      d = this.tf.keep(this.tf.tensor4d(avgDivisors(h, w, a), [1, oh, ow, 1]));
      this.divisorCache.set(key, d);
    }
    return d;
  }

  private apply(
    node: GraphNode,
    args: Value[],
    prep: NodePrep,
    training: boolean,
    stats?: Map<string, BatchStats>,
    noise?: () => number,
  ): Value[] {
    return dispatchOp(APPLY, node, {
      tf: this.tf,
      args,
      prep,
      training,
      stats,
      noise,
      plan: this.plans.get(node.name),
      needsInputGrad: !this.graph.inputs.some((i) => i.name === node.inputs[0]),
      divisors: (n, h, w) => this.divisors(n, h, w),
    });
  }

  dispose(): void {
    for (const t of this.divisorCache.values()) t.dispose();
    this.divisorCache.clear();
  }
}
