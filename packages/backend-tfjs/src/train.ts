import {
  formatShape,
  type Graph,
  InputError,
  removeIdentities,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import { activate } from './backend.js';
import type { ConvStrategy } from './lower/conv-strategy.js';
import { type BatchStats, Program } from './program.js';
import {
  describeRuntime,
  selectRuntime,
  type TfjsRuntime,
  type TfjsRuntimeName,
  TRAINING_ORDER,
} from './runtime.js';

export type OptimizerName = 'sgd' | 'adam';

export interface TrainerOptions {
  runtime?: TfjsRuntimeName;
  optimizer?: OptimizerName;
  learningRate?: number;
  /** SGD momentum (PyTorch semantics, no dampening); default 0.9. */
  momentum?: number;
  /** L2 penalty added to every parameter's gradient, as PyTorch's weight_decay; default 0. */
  weightDecay?: number;
  /** BatchNorm running-statistics momentum (PyTorch's); default 0.1. */
  bnMomentum?: number;
  convStrategy?: ConvStrategy;
}

export interface StepResult {
  loss: number;
  /** Train-mode output of the step. */
  output: Tensor;
  /** dL/dp for every trainable parameter, by state_dict key, in PyTorch's layout. */
  grads: Map<string, Tensor>;
}

/**
 * The trainable lowering of a graph: parameters as tf.Variables in PyTorch's layout,
 * BatchNorm on batch statistics with PyTorch's running-statistics update, gradients by tfjs's
 * autodiff, SGD with momentum or Adam, weight decay.
 */
export class Trainer {
  /** @internal tfjs's types stay out of the public declarations (see internals.ts). */
  readonly variables = new Map<string, TF.Variable>();
  /** @internal BatchNorm buffers (running_mean, running_var, num_batches_tracked). */
  readonly buffers = new Map<string, TF.Tensor>();
  private readonly optimizer: TF.Optimizer;
  private readonly program: Program;

  private constructor(
    readonly runtime: TfjsRuntime,
    readonly graph: Graph,
    weights: WeightMap,
    readonly options: TrainerOptions,
  ) {
    const tf = runtime.tf;
    this.program = new Program(tf, graph, { convStrategy: options.convStrategy });
    for (const [key, spec] of Object.entries(graph.params)) {
      const w = weights.get(key);
      const data = w ? w.data : new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
      if (spec.kind === 'parameter')
        // Unnamed: tfjs registers variable names globally, and two trainers may hold the same keys.
        this.variables.set(key, tf.variable(tf.tensor(data, [...spec.shape]), true));
      else this.buffers.set(key, tf.keep(tf.tensor(data, [...spec.shape])));
    }
    const lr = options.learningRate ?? 0.01;
    this.optimizer =
      options.optimizer === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, options.momentum ?? 0.9);
  }

  static async create(graph: Graph, weights: WeightMap, options: TrainerOptions = {}): Promise<Trainer> {
    const runtime = await selectRuntime(options.runtime, TRAINING_ORDER);
    await activate(runtime);
    return new Trainer(runtime, removeIdentities(graph), weights, options);
  }

  describe(): string {
    return describeRuntime(this.runtime);
  }

  private param = (key: string): TF.Tensor => {
    const v = this.variables.get(key) ?? this.buffers.get(key);
    if (!v) throw new Error(`no parameter '${key}'`);
    return v;
  };

  private checkInput(x: Tensor): void {
    const spec = this.graph.inputs[0]!;
    if (x.shape.length !== 4 || x.shape.slice(1).some((d, i) => d !== spec.shape[i + 1])) {
      throw new InputError(
        `input '${spec.name}': expected shape [N, ${spec.shape.slice(1).join(', ')}], got ${formatShape(x.shape)}`,
      );
    }
  }

  /** Updates running statistics from a train-mode step, as PyTorch does (unbiased variance). */
  private updateRunning(stats: Map<string, BatchStats>): void {
    const tf = this.runtime.tf;
    const m = this.options.bnMomentum ?? 0.1;
    for (const node of this.graph.nodes) {
      const s = stats.get(node.name);
      if (!s) continue;
      const { running_mean: rmKey, running_var: rvKey, num_batches_tracked: nbKey } = node.params;
      const update = (key: string | undefined, value: TF.Tensor) => {
        if (!key) return;
        const old = this.buffers.get(key)!;
        this.buffers.set(key, tf.keep(tf.tidy(() => tf.add(tf.mul(old, 1 - m), tf.mul(value, m)))));
        old.dispose();
      };
      update(rmKey, s.mean);
      tf.tidy(() => update(rvKey, tf.mul(s.variance, s.count / Math.max(1, s.count - 1))));
      if (nbKey && this.buffers.has(nbKey)) {
        const old = this.buffers.get(nbKey)!;
        this.buffers.set(nbKey, tf.keep(tf.add(old, 1)));
        old.dispose();
      }
      s.mean.dispose();
      s.variance.dispose();
    }
  }

  /**
   * @internal (its loss is a tfjs function: tfjs's types stay out of the public declarations)
   * One forward and backward pass in train mode for a loss of the output; updates the
   * running statistics and, unless `apply` is false, takes an optimizer step.
   */
  async step(x: Tensor, loss: (output: TF.Tensor) => TF.Scalar, apply = true): Promise<StepResult> {
    this.checkInput(x);
    await activate(this.runtime);
    const tf = this.runtime.tf;
    const stats = new Map<string, BatchStats>();
    let output: TF.Tensor | undefined;
    const varList = [...this.variables.values()];
    const input = tf.tensor(x.data, [...x.shape]);
    const { value, grads } = tf.variableGrads(() => {
      const prep = this.program.prepare(this.param, true);
      const out = this.program.forward({ [this.graph.inputs[0]!.name]: input }, prep, true, stats)[
        this.graph.outputs[0]!
      ]!;
      output = tf.keep(out);
      for (const s of stats.values()) {
        tf.keep(s.mean);
        tf.keep(s.variance);
      }
      return loss(out);
    }, varList);
    input.dispose();
    const keyOf = new Map([...this.variables].map(([key, v]) => [v.name, key]));
    const wd = this.options.weightDecay ?? 0;
    if (wd > 0) {
      for (const [name, g] of Object.entries(grads)) {
        const v = this.variables.get(keyOf.get(name)!)!;
        grads[name] = tf.tidy(() => tf.add(g, tf.mul(v, wd)));
        g.dispose();
      }
    }
    const result: StepResult = {
      loss: (await value.data())[0]!,
      output: { shape: [...output!.shape], data: Float32Array.from(await output!.data()) },
      grads: new Map(),
    };
    for (const [name, g] of Object.entries(grads)) {
      result.grads.set(keyOf.get(name)!, { shape: [...g.shape], data: Float32Array.from(await g.data()) });
    }
    if (apply) this.optimizer.applyGradients(grads);
    this.updateRunning(stats);
    value.dispose();
    output!.dispose();
    tf.dispose(Object.values(grads));
    return result;
  }

  /** A training step with cross-entropy on integer labels; returns the loss and correct count. */
  async trainBatch(x: Tensor, labels: Int32Array): Promise<{ loss: number; correct: number }> {
    const tf = this.runtime.tf;
    const classes = this.graph.tensors[this.graph.outputs[0]!]!.shape[1]!;
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const r = await this.step(x, (out) => tf.losses.softmaxCrossEntropy(oneHot, out) as TF.Scalar);
    oneHot.dispose();
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      const row = r.output.data.subarray(i * classes, (i + 1) * classes);
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    return { loss: r.loss, correct };
  }

  /** Eval-mode forward (running statistics) with the current parameters. */
  async predict(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    await activate(this.runtime);
    const tf = this.runtime.tf;
    const out = tf.tidy(() => {
      const prep = this.program.prepare(this.param, false);
      return this.program.forward({ [this.graph.inputs[0]!.name]: tf.tensor(x.data, [...x.shape]) }, prep)[
        this.graph.outputs[0]!
      ]!;
    });
    const t = { shape: [...out.shape], data: Float32Array.from(await out.data()) };
    out.dispose();
    return t;
  }

  /** Current parameters and buffers by state_dict key, ready for saveWeights (PyTorch names and layout). */
  async weights(): Promise<WeightMap> {
    const out: WeightMap = new Map();
    for (const [key, t] of [...this.variables, ...this.buffers])
      out.set(key, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    return out;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    for (const b of this.buffers.values()) b.dispose();
    this.optimizer.dispose();
    this.program.dispose();
  }
}
