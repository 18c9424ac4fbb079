import {
  type Graph,
  type GraphNode,
  poolOutSize,
  readConv2dAttrs,
  readPoolAttrs,
  resolveReshape,
} from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import { fromPlain, irShape, mapAxis, toPlain, type Value } from './layout.js';
import {
  applyConv,
  type ConvPlan,
  type ConvStrategy,
  type PreparedFilter,
  planConv,
  prepareFilter,
  undilated,
} from './lower/conv.js';
import { avgDivisors, avgPool, maxPool } from './lower/pool.js';
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
        const a = readConv2dAttrs(node.attrs);
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
        const a = readConv2dAttrs(node.attrs);
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
        const eps = Number(node.attrs.eps ?? 1e-5);
        if (training) {
          prep.set(node.name, { gamma: param(p.weight!), beta: param(p.bias!) });
        } else {
          const scale = tf.div(param(p.weight!), tf.sqrt(tf.add(param(p.running_var!), eps)));
          const shift = tf.sub(param(p.bias!), tf.mul(param(p.running_mean!), scale));
          prep.set(node.name, { scale, shift });
        }
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
  ): Record<string, TF.Tensor> {
    const env = new Map<string, Value>();
    for (const spec of this.graph.inputs) env.set(spec.name, fromPlain(inputs[spec.name]!));
    for (const node of this.graph.nodes) {
      const args = node.inputs.map((t) => env.get(t)!);
      const outs = this.apply(node, args, prep.get(node.name) ?? {}, training, stats);
      for (const [i, name] of node.outputs.entries()) env.set(name, outs[i]!);
    }
    const result: Record<string, TF.Tensor> = {};
    for (const name of this.graph.outputs) result[name] = toPlain(env.get(name)!);
    return result;
  }

  /** PyTorch's average-pool divisors for this input size, made once and kept. */
  private divisors(node: GraphNode, h: number, w: number): TF.Tensor {
    const key = `${node.name}@${h}x${w}`;
    let d = this.divisorCache.get(key);
    if (!d) {
      const a = readPoolAttrs(node.attrs);
      const [oh, ow] = poolOutSize(h, w, a);
      d = this.tf.keep(this.tf.tensor4d(avgDivisors(h, w, a), [1, oh, ow, 1]));
      this.divisorCache.set(key, d);
    }
    return d;
  }

  private apply(
    node: GraphNode,
    args: Value[],
    p: NodePrep,
    training: boolean,
    stats?: Map<string, BatchStats>,
  ): Value[] {
    const tf = this.tf;
    const x = args[0]!;
    const nhwc = (t: TF.Tensor): Value => ({ t, nhwc: true });
    switch (node.op) {
      case 'conv2d': {
        const a = p.convAttrs ?? readConv2dAttrs(node.attrs);
        return [
          nhwc(applyConv(tf, x.t as TF.Tensor4D, p.filter!, p.bias, a, this.plans.get(node.name)!, training)),
        ];
      }
      case 'batchNorm': {
        const axes = x.nhwc ? [0, 1, 2] : [0, ...Array.from({ length: x.t.rank - 2 }, (_, i) => i + 2)];
        if (!x.nhwc && x.t.rank !== 2)
          throw new Error(
            `${node.path}: batchNorm on a ${x.t.rank}-D tensor is not supported by the tfjs backend`,
          );
        if (training) {
          const eps = Number(node.attrs.eps ?? 1e-5);
          const { mean, variance } = tf.moments(x.t, axes);
          stats?.set(node.name, { mean, variance, count: x.t.size / x.t.shape[x.t.rank - 1]! });
          const y = tf.add(
            tf.mul(tf.div(tf.sub(x.t, mean), tf.sqrt(tf.add(variance, eps))), p.gamma!),
            p.beta!,
          );
          return [{ t: y, nhwc: x.nhwc }];
        }
        return [{ t: tf.add(tf.mul(x.t, p.scale!), p.shift!), nhwc: x.nhwc }];
      }
      case 'relu':
        return [{ t: tf.relu(x.t), nhwc: x.nhwc }];
      case 'sigmoid':
        return [{ t: tf.sigmoid(x.t), nhwc: x.nhwc }];
      case 'softmax': {
        const axis = mapAxis(x, Number(node.attrs.axis));
        const e = tf.exp(tf.sub(x.t, tf.max(x.t, axis, true)));
        return [{ t: tf.div(e, tf.sum(e, axis, true)), nhwc: x.nhwc }];
      }
      case 'add':
      case 'mul': {
        const [a, b] = [args[0]!, args[1]!];
        if (a.nhwc !== b.nhwc) throw new Error(`${node.path}: mixed layouts`);
        return [{ t: node.op === 'add' ? tf.add(a.t, b.t) : tf.mul(a.t, b.t), nhwc: a.nhwc }];
      }
      case 'concat':
        return [
          {
            t: tf.concat(
              args.map((v) => v.t),
              mapAxis(x, Number(node.attrs.axis)),
            ),
            nhwc: x.nhwc,
          },
        ];
      case 'split': {
        const parts = tf.split(x.t, node.attrs.sizes as number[], mapAxis(x, Number(node.attrs.axis)));
        return parts.map((t) => ({ t, nhwc: x.nhwc }));
      }
      case 'reshape': {
        const shape = resolveReshape(irShape(x), node.attrs.shape as number[], node.path);
        return [fromPlain(tf.reshape(toPlain(x), shape))];
      }
      case 'flatten': {
        const axis = Number(node.attrs.axis ?? 1);
        const s = irShape(x);
        const outer = s.slice(0, axis).reduce((m, d) => m * d, 1);
        return [{ t: tf.reshape(toPlain(x), [outer, -1]), nhwc: false }];
      }
      case 'transpose':
        return [fromPlain(tf.transpose(toPlain(x), node.attrs.perm as number[]))];
      case 'maxPool':
        return [nhwc(maxPool(tf, x.t as TF.Tensor4D, readPoolAttrs(node.attrs)))];
      case 'avgPool': {
        const [, h, w] = x.t.shape as number[];
        return [
          nhwc(avgPool(tf, x.t as TF.Tensor4D, readPoolAttrs(node.attrs), this.divisors(node, h!, w!))),
        ];
      }
      case 'globalAvgPool':
        return [nhwc(tf.mean(x.t, [1, 2], true))];
      case 'linear': {
        const y = tf.matMul(x.t as TF.Tensor2D, p.weightT as TF.Tensor2D);
        return [{ t: p.bias ? tf.add(y, p.bias) : y, nhwc: false }];
      }
    }
  }

  dispose(): void {
    for (const t of this.divisorCache.values()) t.dispose();
    this.divisorCache.clear();
  }
}
