import {
  formatShape,
  type Graph,
  InputError,
  InternalError,
  type LrSchedule,
  learningRateAt,
  mulberry32,
  removeIdentities,
  requireWeight,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
/** PyTorch's SGD, Adam or AdamW (optim.ts applies their update rules). */
import type { BatchTrainer, OptimizerName } from '@cardinal/train';
import type * as TF from '@tensorflow/tfjs';
import { activate } from './backend.js';
import type { ConvStrategy } from './lower/conv-strategy.js';
import { TorchOptimizer } from './optim.js';
import { type BatchStats, Program } from './program.js';
import {
  describeRuntime,
  selectRuntime,
  type TfjsRuntime,
  type TfjsRuntimeName,
  TRAINING_ORDER,
} from './runtime.js';

export type { OptimizerName };

export interface TrainerOptions {
  runtime?: TfjsRuntimeName;
  /** PyTorch's SGD (default), Adam or AdamW, update rule for update rule. */
  optimizer?: OptimizerName;
  /** The base learning rate (default 0.01), used as is unless `schedule` is given. */
  learningRate?: number;
  /** The learning rate by step (PyTorch's LinearLR+CosineAnnealingLR or OneCycleLR forms). */
  schedule?: LrSchedule;
  /** SGD momentum (PyTorch semantics, no dampening); default 0.9. */
  momentum?: number;
  /** SGD with Nesterov momentum (PyTorch's nesterov=True). */
  nesterov?: boolean;
  /** Adam's betas (default [0.9, 0.999]) and eps (default 1e-8), as PyTorch's. */
  betas?: [number, number];
  eps?: number;
  /**
   * Weight decay, as PyTorch's weight_decay (an L2 term for SGD and Adam, decoupled for AdamW);
   * default 0. `decay: 'weights'` skips BatchNorm's parameters and every bias (timm's recipe).
   */
  weightDecay?: number;
  decay?: 'all' | 'weights';
  /** Label smoothing of trainBatch's cross-entropy (PyTorch's label_smoothing); default 0. */
  labelSmoothing?: number;
  /** Module paths (prefixes of state_dict keys, e.g. `conv1`, `layer1`) whose parameters stay as they are. */
  freeze?: readonly string[];
  /** Learning-rate factors by state_dict key prefix (the longest matching prefix wins), e.g. a lower rate for a pretrained backbone. */
  lrScale?: Readonly<Record<string, number>>;
  /** BatchNorm running-statistics momentum (PyTorch's); default 0.1. */
  bnMomentum?: number;
  convStrategy?: ConvStrategy;
  /**
   * Seeds the masks of DropPath and DropBlock (the config's drop_path_rate, drop_block_rate):
   * step k of a trainer draws the same masks every run. Data-parallel ranks each take their own.
   */
  dropSeed?: number;
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
export class Trainer implements BatchTrainer {
  /** @internal tfjs's types stay out of the public declarations (see internals.ts). */
  readonly variables = new Map<string, TF.Variable>();
  /** @internal BatchNorm buffers (running_mean, running_var, num_batches_tracked). */
  readonly buffers = new Map<string, TF.Tensor>();
  /** @internal */
  readonly optimizer: TorchOptimizer;
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
    // Weight decay skips BatchNorm's weight and bias and every bias when asked to.
    const noDecay = new Set<string>();
    if (options.decay === 'weights')
      for (const node of graph.nodes)
        for (const [role, key] of Object.entries(node.params))
          if (node.op === 'batchNorm' || role === 'bias') noDecay.add(key);
    this.optimizer = new TorchOptimizer(tf, {
      name: options.optimizer ?? 'sgd',
      momentum: options.momentum ?? 0.9,
      nesterov: options.nesterov ?? false,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      noDecay,
    });
  }

  static async create(graph: Graph, weights: WeightMap, options: TrainerOptions = {}): Promise<Trainer> {
    const runtime = await selectRuntime(options.runtime, TRAINING_ORDER);
    await activate(runtime);
    return new Trainer(runtime, removeIdentities(graph, { training: true }), weights, options);
  }

  describe(): string {
    return describeRuntime(this.runtime);
  }

  private param = (key: string): TF.Tensor => {
    const v = this.variables.get(key);
    return v ?? requireWeight(this.buffers, key, this.graph.name);
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
    const varList = [...this.variables].filter(([key]) => !this.frozen(key)).map(([, v]) => v);
    const input = tf.tensor(x.data, [...x.shape]);
    const { value, grads } = tf.variableGrads(() => {
      const prep = this.program.prepare(this.param, true);
      const noise = mulberry32(
        Math.imul((this.options.dropSeed ?? 0) + 1, 0x9e3779b1) ^ this.optimizer.steps,
      );
      const out = this.program.forward({ [this.graph.inputs[0]!.name]: input }, prep, true, stats, noise)[
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
    const result: StepResult = {
      loss: (await value.data())[0]!,
      output: { shape: [...output!.shape], data: Float32Array.from(await output!.data()) },
      grads: new Map(),
    };
    for (const [name, g] of Object.entries(grads)) {
      result.grads.set(keyOf.get(name)!, { shape: [...g.shape], data: Float32Array.from(await g.data()) });
    }
    if (apply)
      this.optimizer.step(
        this.variables,
        new Map(Object.entries(grads).map(([name, g]) => [keyOf.get(name)!, g])),
        this.learningRate(),
        (key) => this.lrFactor(key),
      );
    this.updateRunning(stats);
    value.dispose();
    output!.dispose();
    tf.dispose(Object.values(grads));
    return result;
  }

  /** Replaces parameter or buffer values by state_dict key (an optimiser outside this trainer). */
  assign(values: WeightMap): void {
    const tf = this.runtime.tf;
    for (const [key, t] of values) {
      const v = this.variables.get(key);
      if (v) v.assign(tf.tensor(t.data, [...t.shape]));
      else {
        const old = this.buffers.get(key);
        if (!old)
          throw new InputError(`setWeights: '${key}' is not a parameter or buffer of ${this.graph.name}`);
        this.buffers.set(key, tf.keep(tf.tensor(t.data, [...t.shape])));
        old.dispose();
      }
    }
  }

  private frozen(key: string): boolean {
    return (this.options.freeze ?? []).some((p) => key === p || key.startsWith(`${p}.`));
  }

  /** The factor on the learning rate of one parameter (1 unless lrScale names a prefix of its key). */
  lrFactor(key: string): number {
    let best = '';
    let factor = 1;
    for (const [prefix, f] of Object.entries(this.options.lrScale ?? {}))
      if ((key === prefix || key.startsWith(`${prefix}.`) || prefix === '') && prefix.length >= best.length) {
        best = prefix;
        factor = f;
      }
    return factor;
  }

  /** The learning rate the next step takes. */
  learningRate(): number {
    const o = this.options;
    return o.schedule ? learningRateAt(o.schedule, this.optimizer.steps) : (o.learningRate ?? 0.01);
  }

  /** A training step with cross-entropy on integer labels; returns the loss and correct count. */
  async trainBatch(x: Tensor, labels: Int32Array): Promise<{ loss: number; correct: number }> {
    const { loss, correct } = await this.crossEntropyStep(x, labels, true);
    return { loss, correct };
  }

  /**
   * @internal One rank's share of a data-parallel step (parallel.ts): forward and backward with
   * cross-entropy, the running statistics updated, no optimiser step. The gradients come back
   * flat, in trainableKeys() order.
   */
  async computeGradients(
    x: Tensor,
    labels: Int32Array,
  ): Promise<{ loss: number; correct: number; grads: Float32Array }> {
    const { loss, correct, grads } = await this.crossEntropyStep(x, labels, false);
    const keys = this.trainableKeys();
    const flat = new Float32Array(keys.reduce((n, k) => n + this.variables.get(k)!.size, 0));
    let at = 0;
    for (const key of keys) {
      const g = grads.get(key)!;
      flat.set(g.data, at);
      at += g.data.length;
    }
    return { loss, correct, grads: flat };
  }

  /** @internal The keys of the parameters that train (not frozen), in the order of flat gradients. */
  trainableKeys(): string[] {
    return [...this.variables.keys()].filter((key) => !this.frozen(key));
  }

  /** @internal An optimiser step with gradients from outside (a data-parallel mean), flat in trainableKeys() order. */
  applyGradients(flat: Float32Array): void {
    const tf = this.runtime.tf;
    const grads = new Map<string, TF.Tensor>();
    let at = 0;
    for (const key of this.trainableKeys()) {
      const v = this.variables.get(key)!;
      grads.set(key, tf.tensor(flat.subarray(at, at + v.size), v.shape));
      at += v.size;
    }
    if (at !== flat.length)
      throw new InternalError(`applyGradients: ${flat.length} values for ${at} parameters`);
    this.optimizer.step(this.variables, grads, this.learningRate(), (key) => this.lrFactor(key));
    tf.dispose([...grads.values()]);
  }

  private async crossEntropyStep(
    x: Tensor,
    labels: Int32Array,
    apply: boolean,
  ): Promise<{ loss: number; correct: number; grads: Map<string, Tensor> }> {
    const tf = this.runtime.tf;
    const classes = this.graph.tensors[this.graph.outputs[0]!]!.shape[1]!;
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    // tfjs's smoothing is PyTorch's: (1 - e) one-hot + e / classes.
    const smoothing = this.options.labelSmoothing ?? 0;
    const r = await this.step(
      x,
      (out) => tf.losses.softmaxCrossEntropy(oneHot, out, undefined, smoothing) as TF.Scalar,
      apply,
    );
    oneHot.dispose();
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      const row = r.output.data.subarray(i * classes, (i + 1) * classes);
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    return { loss: r.loss, correct, grads: r.grads };
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

  /**
   * The optimiser's state for a checkpoint: its tensors by PyTorch's names
   * (`<key>.momentum_buffer`, `<key>.exp_avg`, `<key>.exp_avg_sq`) and the steps taken.
   */
  async optimizerState(): Promise<{ tensors: Map<string, Tensor>; steps: number }> {
    const tensors = new Map<string, Tensor>();
    for (const [k, t] of this.optimizer.state)
      tensors.set(k, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    return { tensors, steps: this.optimizer.steps };
  }

  /** Restores what optimizerState() saved (a resumed run continues exactly where it stopped). */
  restoreOptimizerState(state: { tensors: ReadonlyMap<string, Tensor>; steps: number }): void {
    const tf = this.runtime.tf;
    this.optimizer.dispose();
    for (const [k, t] of state.tensors) {
      const key = k.replace(/\.(momentum_buffer|exp_avg|exp_avg_sq)$/, '');
      const v = this.variables.get(key);
      if (!v || v.shape.join() !== t.shape.join())
        throw new InputError(`optimiser state '${k}' does not belong to a parameter of this model`);
      this.optimizer.state.set(k, tf.keep(tf.tensor(t.data, [...t.shape])));
    }
    this.optimizer.steps = state.steps;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    for (const b of this.buffers.values()) b.dispose();
    this.optimizer.dispose();
    this.program.dispose();
  }
}
