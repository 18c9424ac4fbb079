import {
  type Backend,
  type CompileOptions,
  DataError,
  type Executable,
  type Graph,
  InputError,
  inferShapes,
  type LrSchedule,
  learningRateAt,
  type Tensor,
  type TrainingExecutable,
  type TrainingGraphOptions,
  trainingGraph,
  type WeightMap,
} from '@cardinal/core';
import type { BatchTrainer } from './batch-trainer.js';
import { type OptimizerName, TorchOptimizer } from './optimizer.js';
import { countCorrect, smoothedTargets } from './targets.js';

export interface GraphTrainerOptions {
  /** PyTorch's SGD (default), Adam or AdamW. */
  optimizer?: OptimizerName;
  /** The base learning rate (default 0.01), used as is unless `schedule` is given. */
  learningRate?: number;
  schedule?: LrSchedule;
  /** SGD momentum (default 0.9) and Nesterov; Adam's betas and eps, as PyTorch's defaults. */
  momentum?: number;
  nesterov?: boolean;
  betas?: [number, number];
  eps?: number;
  /** PyTorch's weight_decay; `decay: 'weights'` skips BatchNorm's parameters and every bias. */
  weightDecay?: number;
  decay?: 'all' | 'weights';
  labelSmoothing?: number;
  /** Module paths (state_dict key prefixes) whose parameters stay as they are. */
  freeze?: readonly string[];
  /** Learning-rate factors by key prefix (the longest matching prefix wins; '' matches all). */
  lrScale?: Readonly<Record<string, number>>;
  /** Compile options handed to the backend (threads, device). */
  compile?: CompileOptions;
}

/** A step whose loss is NaN or infinite: the run stops there, its weights those of the step before. */
export class LossNotFinite extends DataError {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`step ${step}: the loss is ${loss}`);
  }
}

const under = (key: string, prefix: string) =>
  prefix === '' || key === prefix || key.startsWith(`${prefix}.`);

/**
 * Training on any backend with a training compile (core's trainingGraph lowered by the
 * backend): each step's loss and gradients come from the backend, the optimiser runs here over
 * the weights, which go back to the backend before the next step. A batch of another size (the
 * epoch's last) compiles its own training graph once.
 */
export class GraphTrainer implements BatchTrainer {
  private readonly optimizer: TorchOptimizer;
  private readonly values: Map<string, Float32Array>;
  private readonly executables = new Map<number, Promise<TrainingExecutable>>();
  private evalModel: { version: number; exe: Executable } | undefined;
  private version = 0;
  private readonly classes: number;

  private constructor(
    readonly backend: Backend,
    readonly graph: Graph,
    weights: WeightMap,
    readonly options: GraphTrainerOptions,
    private readonly first: TrainingExecutable,
  ) {
    this.values = new Map([...weights].map(([k, t]) => [k, Float32Array.from(t.data)]));
    const noDecay = new Set<string>();
    if (options.decay === 'weights')
      for (const node of graph.nodes)
        for (const [role, key] of Object.entries(node.params))
          if (node.op === 'batchNorm' || role === 'bias') noDecay.add(key);
    this.optimizer = new TorchOptimizer({
      name: options.optimizer ?? 'sgd',
      momentum: options.momentum ?? 0.9,
      nesterov: options.nesterov ?? false,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      noDecay,
    });
    this.classes = graph.tensors[graph.outputs[0]!]!.shape[1]!;
    this.executables.set(graph.inputs[0]!.shape[0]!, Promise.resolve(first));
  }

  /** Compiles the training graph of `graph` (at its batch size) on `backend`. */
  static async create(
    backend: Backend,
    graph: Graph,
    weights: WeightMap,
    options: GraphTrainerOptions = {},
  ): Promise<GraphTrainer> {
    if (!backend.compileTraining) throw new InputError(`backend '${backend.name}' does not train`);
    for (const key of Object.keys(graph.params))
      if (!weights.has(key) && !key.endsWith('num_batches_tracked'))
        throw new InputError(`${graph.name}: no starting value for '${key}'`);
    const first = await backend.compileTraining(
      trainingGraph(graph, GraphTrainer.lossOf(options)),
      weights,
      options.compile,
    );
    return new GraphTrainer(backend, graph, weights, options, first);
  }

  /** Cross-entropy, and which parameters train (all but the frozen prefixes). */
  private static lossOf(options: GraphTrainerOptions): TrainingGraphOptions {
    const frozen = options.freeze ?? [];
    return {
      loss: { kind: 'crossEntropy' },
      ...(frozen.length ? { trainable: (key: string) => !frozen.some((p) => under(key, p)) } : {}),
    };
  }

  private executable(batch: number): Promise<TrainingExecutable> {
    let exe = this.executables.get(batch);
    if (!exe) {
      const input = this.graph.inputs[0]!;
      const g = inferShapes(this.graph, { [input.name]: [batch, ...input.shape.slice(1)] });
      exe = this.backend.compileTraining!(
        trainingGraph(g, GraphTrainer.lossOf(this.options)),
        this.weightMap(),
        this.options.compile,
      );
      this.executables.set(batch, exe);
    }
    return exe;
  }

  private weightMap(): WeightMap {
    return new Map(
      [...this.values].map(([k, data]) => [k, { shape: [...this.graph.params[k]!.shape], data }]),
    );
  }

  /** The factor on one parameter's learning rate (1 unless lrScale names a prefix of its key). */
  lrFactor(key: string): number {
    let best = -1;
    let factor = 1;
    for (const [prefix, f] of Object.entries(this.options.lrScale ?? {}))
      if (under(key, prefix) && prefix.length > best) {
        best = prefix.length;
        factor = f;
      }
    return factor;
  }

  learningRate(): number {
    const o = this.options;
    return o.schedule ? learningRateAt(o.schedule, this.optimizer.steps) : (o.learningRate ?? 0.01);
  }

  /**
   * One optimiser step on a batch with cross-entropy on integer labels: the batch's mean loss
   * and correct count. A loss that is not finite stops here, before any weight changes.
   */
  async trainBatch(x: Tensor, labels: Int32Array): Promise<{ loss: number; correct: number }> {
    const exe = await this.executable(x.shape[0]!);
    const input = this.graph.inputs[0]!.name;
    const step = await exe.step({
      [input]: x,
      targets: smoothedTargets(labels, this.classes, this.options.labelSmoothing),
    });
    if (!Number.isFinite(step.loss)) throw new LossNotFinite(this.optimizer.steps + 1, step.loss);
    const params = new Map([...step.grads.keys()].map((k) => [k, this.values.get(k)!]));
    this.optimizer.step(params, step.grads, this.learningRate(), (k) => this.lrFactor(k));
    for (const [key, t] of step.running) this.values.get(key)!.set(t.data);
    for (const node of this.graph.nodes) {
      const nbt = node.params.num_batches_tracked;
      const v = nbt ? this.values.get(nbt) : undefined;
      if (v) v[0]! += 1;
    }
    this.version++;
    const changed = this.weightMap();
    for (const e of this.executables.values()) (await e).setWeights(changed);
    return { loss: step.loss, correct: countCorrect(step.output, labels) };
  }

  /** Evaluation-mode logits (running statistics), on an inference compile of the current weights. */
  async predict(x: Tensor): Promise<Tensor> {
    if (!this.evalModel || this.evalModel.version !== this.version) {
      this.evalModel?.exe.dispose();
      const exe = await this.backend.compile(this.graph, this.weightMap(), this.options.compile);
      this.evalModel = { version: this.version, exe };
    }
    const out = await this.evalModel.exe.run({ [this.graph.inputs[0]!.name]: x });
    return out[this.graph.outputs[0]!]!;
  }

  async weights(): Promise<WeightMap> {
    return new Map(
      [...this.weightMap()].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]),
    );
  }

  async optimizerState(): Promise<{ tensors: Map<string, Tensor>; steps: number }> {
    const tensors = new Map<string, Tensor>();
    for (const [k, data] of this.optimizer.state) {
      const key = k.replace(/\.(momentum_buffer|exp_avg|exp_avg_sq)$/, '');
      tensors.set(k, { shape: [...this.graph.params[key]!.shape], data: Float32Array.from(data) });
    }
    return { tensors, steps: this.optimizer.steps };
  }

  restoreOptimizerState(state: { tensors: ReadonlyMap<string, Tensor>; steps: number }): void {
    this.optimizer.restore(state, this.values);
  }

  describe(): string {
    return this.first.describe();
  }

  async dispose(): Promise<void> {
    for (const e of this.executables.values()) (await e).dispose();
    this.evalModel?.exe.dispose();
  }
}
