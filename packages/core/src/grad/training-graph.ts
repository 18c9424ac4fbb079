import { GraphError, UnsupportedError } from '../errors.js';
import type { Graph, GraphNode, TensorSpec } from '../ir/graph.js';
import { getOp } from '../ops/registry.js';
import { validateGraph } from '../passes/validate.js';
import { NodeEmitter } from './emitter.js';
import type { GradTensor } from './rule.js';

/**
 * The loss a training graph ends in.
 * - `crossEntropy`: input `targets` [N, classes], each row a probability distribution (one-hot,
 *   or label-smoothed by the caller); L = -sum(targets * log_softmax(logits)) / N, PyTorch's
 *   cross_entropy with mean reduction.
 * - `weightedSum`: input `loss_weights` of the output's shape; L = sum(output * R) / N, the loss
 *   of the training fixtures (any gradient of the output can be fed this way).
 */
export type TrainingLoss = { kind: 'crossEntropy' } | { kind: 'weightedSum' };

export interface TrainingGraphOptions {
  loss: TrainingLoss;
  /** Whether a parameter trains (default: every `parameter`); others get no gradient. */
  trainable?: (key: string) => boolean;
}

/**
 * One graph for one training step: forward in training mode, the loss, the backward. Inputs:
 * the model's, then the loss's (`targets` or `loss_weights`). Outputs: the loss ([1]), the
 * model's output, every trainable parameter's gradient, the new BatchNorm running statistics.
 */
export interface TrainingGraph {
  graph: Graph;
  /** The model graph it was made from, and how (a backend with its own autodiff starts there). */
  forward: Graph;
  options: TrainingGraphOptions;
  /** The tensor names of the loss and of the model's output. */
  loss: string;
  output: string;
  /** The loss's own input (`targets` or `loss_weights`). */
  lossInput: string;
  /** Parameter state_dict key -> its gradient's tensor, in state_dict order. */
  gradients: ReadonlyMap<string, string>;
  /** BatchNorm buffer key (`running_mean`, `running_var`) -> its new value's tensor. */
  running: ReadonlyMap<string, string>;
}

/** Rewrites a forward node into its training form; the rest of the graph is kept as it is. */
function trainingForward(node: GraphNode, e: NodeEmitter, running: Map<string, string>): void {
  if (node.op === 'batchNorm') {
    e.at = { path: node.path, stem: node.name };
    const names = ['mean', 'inv_std', 'running_mean', 'running_var'].map((s) =>
      e.unique(`${node.name}:${s}`),
    );
    delete e.tensors[node.outputs[0]!];
    const x = e.tensor(node.inputs[0]!);
    const outs = e.op('batchNormTrain', [x], node.attrs, node.params, [node.outputs[0]!, ...names]);
    running.set(node.params.running_mean!, outs[3]!.name);
    running.set(node.params.running_var!, outs[4]!.name);
    return;
  }
  if ((node.op === 'dropPath' || node.op === 'dropBlock') && node.attrs.rate > 0)
    throw new UnsupportedError(
      `${node.path || node.name}: ${node.op} with rate ${node.attrs.rate} is not in training graphs yet (set the rate to 0)`,
    );
  e.keep(node);
}

/** Emits the loss and returns it with the loss's gradient of the output. */
function emitLoss(
  loss: TrainingLoss,
  out: GradTensor,
  target: GradTensor,
  e: NodeEmitter,
): { value: GradTensor; dOut: GradTensor } {
  e.at = { path: '', stem: 'loss' };
  const n = out.shape[0]!;
  const total = (t: GradTensor, alpha: number) => {
    const axes = t.shape.map((_, i) => i);
    const s = e.op('reduceSum', [t], { axes, keepDims: true })[0]!;
    const flat = e.op('reshape', [s], { shape: [1] })[0]!;
    return e.op('scale', [flat], { alpha })[0]!;
  };
  if (loss.kind === 'weightedSum') {
    const value = total(e.op('mul', [out, target], {})[0]!, 1 / n);
    return { value, dOut: e.op('scale', [target], { alpha: 1 / n })[0]! };
  }
  if (out.shape.length !== 2)
    throw new GraphError(
      `cross-entropy needs [N, classes] logits, the model gives [${out.shape.join(', ')}]`,
    );
  const logP = e.op('logSoftmax', [out], { axis: 1 })[0]!;
  const value = total(e.op('mul', [logP, target], {})[0]!, -1 / n);
  const p = e.op('softmax', [out], { axis: 1 })[0]!;
  const dOut = e.op('scale', [e.op('sub', [p, target], {})[0]!], { alpha: 1 / n })[0]!;
  return { value, dOut };
}

/** The tensors that depend on a trainable parameter: those a gradient must reach. */
function needingGrad(nodes: readonly GraphNode[], trainable: (key: string) => boolean): Set<string> {
  const needs = new Set<string>();
  for (const node of nodes) {
    const own = Object.entries(node.params).some(([role, key]) => role !== 'value' && trainable(key));
    if (own || node.inputs.some((t) => needs.has(t))) for (const t of node.outputs) needs.add(t);
  }
  return needs;
}

/** Drops nodes none of whose outputs reaches a graph output. */
function pruneDead(nodes: readonly GraphNode[], outputs: readonly string[]): GraphNode[] {
  const live = new Set(outputs);
  const kept: GraphNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some((t) => live.has(t))) continue;
    kept.push(node);
    for (const t of node.inputs) live.add(t);
  }
  return kept.reverse();
}

/**
 * The training graph of a model graph: each op's gradient rule (its OpDef's `grad`) applied in
 * reverse order, gradients of a tensor read twice summed. A node on the way back whose op has no
 * rule is refused, naming the op and the module path.
 */
export function trainingGraph(graph: Graph, options: TrainingGraphOptions): TrainingGraph {
  if (graph.outputs.length !== 1)
    throw new GraphError(
      `${graph.name}: a training graph needs a model with one output, this one has ${graph.outputs.length}`,
    );
  const trainable = (key: string) =>
    graph.params[key]?.kind === 'parameter' && (options.trainable?.(key) ?? true);
  const tensors: Record<string, TensorSpec> = { ...graph.tensors };
  const e = new NodeEmitter(tensors, graph.params);
  const running = new Map<string, string>();
  for (const node of graph.nodes) trainingForward(node, e, running);
  const forward = [...e.nodes];

  const lossInput = options.loss.kind === 'crossEntropy' ? 'targets' : 'loss_weights';
  if (Object.hasOwn(tensors, lossInput))
    throw new GraphError(`${graph.name}: the model already has a tensor named '${lossInput}'`);
  const out = e.tensor(graph.outputs[0]!);
  const targetSpec: TensorSpec = { name: lossInput, shape: [...out.shape], dtype: 'float32' };
  tensors[lossInput] = targetSpec;
  const loss = emitLoss(options.loss, out, e.tensor(lossInput), e);

  const needs = needingGrad(forward, trainable);
  const pending = new Map<string, GradTensor[]>([[out.name, [loss.dOut]]]);
  const paramGrads = new Map<string, GradTensor[]>();
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    if (!node.outputs.some((t) => needs.has(t) && pending.has(t))) continue;
    e.at = { path: node.path, stem: `${node.name}/grad` };
    const dys = node.outputs.map((t) => {
      const parts = pending.get(t);
      return parts ? e.sum(parts) : undefined;
    });
    const rule = getOp(node.op).grad;
    if (!rule)
      throw new UnsupportedError(
        `${node.path || node.name}: ${node.op} has no gradient rule, so this model cannot be trained through it`,
      );
    const result = rule(node, dys, e);
    node.inputs.forEach((t, k) => {
      const d = result.inputs[k];
      if (d && needs.has(t)) pending.set(t, [...(pending.get(t) ?? []), d]);
    });
    for (const [role, d] of Object.entries(result.params ?? {})) {
      const key = node.params[role];
      if (key && trainable(key)) paramGrads.set(key, [...(paramGrads.get(key) ?? []), d]);
    }
  }

  const gradients = new Map<string, string>();
  for (const key of Object.keys(graph.params)) {
    if (!trainable(key)) continue;
    e.at = { path: key.split('.').slice(0, -1).join('.'), stem: `${key}/grad` };
    const parts = paramGrads.get(key);
    // A parameter no gradient reaches (unused by this output) gets zeros, as a zeroed .grad.
    const g = parts ? e.sum(parts) : e.op('scale', [e.param(key)], { alpha: 0 })[0]!;
    gradients.set(key, g.name);
  }

  const outputs = [loss.value.name, out.name, ...gradients.values(), ...running.values()];
  const unique = [...new Set(outputs)];
  if (unique.length !== outputs.length)
    throw new GraphError(`${graph.name}: training graph outputs are not distinct`);
  const nodes = pruneDead(e.nodes, outputs);
  const trained: Graph = {
    name: `${graph.name}:train`,
    inputs: [...graph.inputs.map((t) => ({ ...t, shape: [...t.shape] })), targetSpec],
    outputs,
    nodes,
    params: { ...graph.params },
    tensors,
  };
  validateGraph(trained);
  return {
    graph: trained,
    forward: graph,
    options,
    loss: loss.value.name,
    output: out.name,
    lossInput,
    gradients,
    running,
  };
}
