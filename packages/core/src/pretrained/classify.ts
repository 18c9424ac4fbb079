import { InputError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Tensor } from '../tensor.js';
import { IMAGENET_1K_LABELS } from './imagenet-labels.js';

/** One class of a prediction. */
export interface ClassScore {
  index: number;
  /** The class name: the model's label names, ImageNet's for 1000 classes, else `class <index>`. */
  label: string;
  /** Softmax probability. */
  prob: number;
  logit: number;
}

/** The label names a model of `numClasses` classes goes with when it names none itself. */
export function defaultLabels(numClasses: number): readonly string[] | undefined {
  return numClasses === 1000 ? IMAGENET_1K_LABELS : undefined;
}

/**
 * Softmax over each row of [N, K] logits and the `top` most probable classes, best first,
 * with labels. The softmax is computed in float64 after subtracting the row's maximum, as
 * PyTorch's does, so probabilities of large logits neither overflow nor lose their order.
 * A NaN logit sorts after every number.
 */
export function classify(
  logits: Tensor,
  options: { top?: number; labels?: readonly string[] } = {},
): ClassScore[][] {
  if (logits.shape.length !== 2)
    throw new InputError(`classify: logits must be [N, K], got [${logits.shape.join(', ')}]`);
  const [n, k] = logits.shape as [number, number];
  const top = Math.min(options.top ?? 5, k);
  const labels = options.labels ?? defaultLabels(k);
  if (labels && labels.length !== k)
    throw new InputError(`classify: ${labels.length} labels for ${k} classes`);
  const rows: ClassScore[][] = [];
  for (let i = 0; i < n; i++) {
    const row = logits.data.subarray(i * k, (i + 1) * k);
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const order = Array.from(row.keys()).sort((a, b) => {
      const [x, y] = [row[a]!, row[b]!];
      if (Number.isNaN(x)) return Number.isNaN(y) ? a - b : 1;
      if (Number.isNaN(y)) return -1;
      return y - x || a - b;
    });
    rows.push(
      order.slice(0, top).map((index) => ({
        index,
        label: labels?.[index] ?? `class ${index}`,
        prob: Math.exp(row[index]! - max) / sum,
        logit: row[index]!,
      })),
    );
  }
  return rows;
}

/**
 * The graph with its pooled pre-logits features (the input of the classifier `fc`, [N, C]) as a
 * second output, for embeddings. A model without a classifier already outputs them.
 */
export function withFeatureOutput(graph: Graph): { graph: Graph; features: string } {
  const out = graph.outputs[0]!;
  const producer = graph.nodes.find((n) => n.outputs.includes(out));
  if (producer?.op !== 'linear') return { graph, features: out };
  const features = producer.inputs[0]!;
  return { graph: { ...graph, outputs: [out, features] }, features };
}
