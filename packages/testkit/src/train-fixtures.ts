import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type Backend,
  buildFromJson,
  type CompileOptions,
  type Graph,
  loadWeights,
  readRawF32,
  readSafetensors,
  type Tensor,
  type TrainingStep,
  trainingGraph,
  UnsupportedError,
  type WeightMap,
} from '@cardinal/core';
import type { FixtureMeta } from './fixtures.js';

/** `train/meta.json`: the step's shapes, loss and tolerances (see the fixtures' README). */
export interface TrainMeta {
  input_shape: number[];
  output_shape: number[];
  loss: { value: number; atol: number };
  tolerance_hint: {
    output_l2_rtol: number;
    grad_l2_rtol: Record<string, number>;
    grad_l2_tiny: number;
    grad_atol: Record<string, number>;
    running_atol: Record<string, number>;
  };
}

/** One training fixture: the model at the step's batch, its weights, the batch and PyTorch's results. */
export interface TrainFixture {
  name: string;
  dir: string;
  meta: TrainMeta;
  graph: Graph;
  weights: WeightMap;
  input: Tensor;
  /** R: the loss is sum(output * R) / N. */
  lossWeights: Tensor;
  output: Tensor;
  grads: Map<string, Tensor>;
  running: Map<string, Tensor>;
}

/** Every folder under `root` (one level) that holds `train/meta.json`, sorted by name. */
export function listTrainFixtureDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'train', 'meta.json')))
    .map((d) => join(root, d.name))
    .sort();
}

/** Loads a fixture folder's `train/` step, the model built from its meta.json at the step's batch. */
export function loadTrainFixture(dir: string, name = basename(dir)): TrainFixture {
  const read = (file: string) => readFileSync(join(dir, file));
  const modelMeta = JSON.parse(read('meta.json').toString('utf8')) as FixtureMeta;
  const meta = JSON.parse(read('train/meta.json').toString('utf8')) as TrainMeta;
  const { graph } = buildFromJson(modelMeta, { inputShape: meta.input_shape, source: `${name}/meta.json` });
  const { weights } = loadWeights(
    graph,
    readSafetensors(read('weights.safetensors'), `${name}/weights.safetensors`),
    {
      strict: true,
      source: `${name}/weights.safetensors`,
    },
  );
  const raw = (file: string, shape: number[]) =>
    readRawF32(read(`train/${file}`), shape, `${name}/train/${file}`);
  return {
    name,
    dir,
    meta,
    graph,
    weights,
    input: raw('input.bin', meta.input_shape),
    lossWeights: raw('loss_weights.bin', meta.output_shape),
    output: raw('output.bin', meta.output_shape),
    grads: readSafetensors(read('train/grads.safetensors'), `${name}/train/grads.safetensors`),
    running: readSafetensors(
      read('train/running_after.safetensors'),
      `${name}/train/running_after.safetensors`,
    ),
  };
}

const l2 = (a: Float32Array, b?: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (b ? b[i]! : 0)) ** 2;
  return Math.sqrt(s);
};
const maxAbs = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
};

/**
 * The training fixtures' pass rule (their README): the loss and running statistics
 * elementwise, the output by relative L2, each gradient by relative L2 or, where a kink flipped,
 * elementwise within grad_atol. Returns one line per failure; empty when the step passes.
 */
export function checkTrainStep(f: TrainFixture, step: TrainingStep, numBatchesTracked?: WeightMap): string[] {
  const tol = f.meta.tolerance_hint;
  const failures: string[] = [];
  const lossDiff = Math.abs(step.loss - f.meta.loss.value);
  if (!(lossDiff <= f.meta.loss.atol))
    failures.push(
      `loss ${step.loss} vs ${f.meta.loss.value} (|diff| ${lossDiff.toExponential(2)} > ${f.meta.loss.atol})`,
    );
  const outRel = l2(step.output.data, f.output.data) / l2(f.output.data);
  if (step.output.data.length !== f.output.data.length || !(outRel <= tol.output_l2_rtol))
    failures.push(`output: relative L2 ${outRel.toExponential(2)} > ${tol.output_l2_rtol}`);
  for (const [key, ref] of f.grads) {
    const g = step.grads.get(key);
    if (!g || g.data.length !== ref.data.length) {
      failures.push(`${key}: no gradient of its shape`);
      continue;
    }
    const rel = l2(g.data, ref.data) / Math.max(l2(ref.data), tol.grad_l2_tiny);
    if (!(rel <= tol.grad_l2_rtol[key]!) && !(maxAbs(g.data, ref.data) <= tol.grad_atol[key]!))
      failures.push(
        `${key}: gradient relative L2 ${rel.toExponential(2)} > ${tol.grad_l2_rtol[key]!.toExponential(2)}`,
      );
  }
  for (const key of step.grads.keys())
    if (!f.grads.has(key)) failures.push(`${key}: a gradient PyTorch does not have`);
  for (const [key, ref] of f.running) {
    if (key.endsWith('num_batches_tracked')) {
      const v = numBatchesTracked?.get(key);
      if (numBatchesTracked && (!v || v.data[0] !== ref.data[0]))
        failures.push(`${key}: ${v?.data[0]} vs ${ref.data[0]}`);
      continue;
    }
    const v = step.running.get(key);
    const d = v ? maxAbs(v.data, ref.data) : Number.POSITIVE_INFINITY;
    if (!(d <= tol.running_atol[key]!))
      failures.push(`${key}: |diff| ${d.toExponential(2)} > ${tol.running_atol[key]}`);
  }
  return failures;
}

/** Runs a fixture's step on a backend through its training compile; the failures, or why it cannot. */
export async function runTrainFixture(
  backend: Backend,
  f: TrainFixture,
  options: CompileOptions = {},
): Promise<{ failures: string[]; step: TrainingStep }> {
  if (!backend.compileTraining) throw new UnsupportedError(`backend '${backend.name}' does not train yet`);
  const training = trainingGraph(f.graph, { loss: { kind: 'weightedSum' } });
  const exe = await backend.compileTraining(training, f.weights, options);
  try {
    const step = await exe.step({ [f.graph.inputs[0]!.name]: f.input, [training.lossInput]: f.lossWeights });
    return { failures: checkTrainStep(f, step), step };
  } finally {
    exe.dispose();
  }
}
