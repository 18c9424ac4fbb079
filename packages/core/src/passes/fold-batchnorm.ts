import type { Graph, GraphNode, WeightMap } from '../ir/graph.js';

export interface FoldedModel {
  graph: Graph;
  weights: WeightMap;
}

/**
 * Folds each eval-mode BatchNorm into the conv that feeds it (when that conv feeds nothing
 * else): W' = W * s, b' = b * s + (beta - mean * s), s = gamma / sqrt(var + eps). The conv
 * takes over the BatchNorm's output tensor; a conv without bias gains `<conv>.bias`.
 * Computed in float64, rounded once.
 */
export function foldBatchNorm(graph: Graph, weights: WeightMap): FoldedModel {
  const consumers = new Map<string, number>();
  for (const n of graph.nodes) for (const t of n.inputs) consumers.set(t, (consumers.get(t) ?? 0) + 1);
  for (const t of graph.outputs) consumers.set(t, (consumers.get(t) ?? 0) + 1);
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const t of n.outputs) producer.set(t, n);

  const newWeights: WeightMap = new Map(weights);
  const params = { ...graph.params };
  const replaced = new Map<GraphNode, GraphNode>();
  const removed = new Set<GraphNode>();
  for (const bn of graph.nodes) {
    if (bn.op !== 'batchNorm') continue;
    const conv = producer.get(bn.inputs[0]!);
    if (conv?.op !== 'conv2d' || consumers.get(conv.outputs[0]!) !== 1 || replaced.has(conv)) continue;
    const a = conv.attrs;
    const eps = bn.attrs.eps;
    const w = newWeights.get(conv.params.weight!)!;
    const gamma = weights.get(bn.params.weight!)!.data;
    const beta = weights.get(bn.params.bias!)!.data;
    const mean = weights.get(bn.params.running_mean!)!.data;
    const variance = weights.get(bn.params.running_var!)!.data;
    const oldBias = conv.params.bias ? newWeights.get(conv.params.bias)!.data : undefined;
    const per = w.data.length / a.outChannels;
    const wData = new Float32Array(w.data.length);
    const bData = new Float32Array(a.outChannels);
    for (let o = 0; o < a.outChannels; o++) {
      const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
      for (let i = 0; i < per; i++) wData[o * per + i] = w.data[o * per + i]! * s;
      bData[o] = (oldBias ? oldBias[o]! : 0) * s + beta[o]! - mean[o]! * s;
    }
    const biasKey = conv.params.bias ?? `${conv.path}.bias`;
    newWeights.set(conv.params.weight!, { shape: [...w.shape], data: wData });
    newWeights.set(biasKey, { shape: [a.outChannels], data: bData });
    params[biasKey] = {
      shape: [a.outChannels],
      dtype: 'float32',
      kind: 'parameter',
      init: { kind: 'constant', value: 0 },
    };
    for (const key of Object.values(bn.params)) {
      delete params[key];
      newWeights.delete(key);
    }
    replaced.set(conv, {
      ...conv,
      attrs: { ...conv.attrs, bias: true },
      params: { ...conv.params, bias: biasKey },
      outputs: [...bn.outputs],
    });
    removed.add(bn);
  }
  const tensors = { ...graph.tensors };
  const nodes: GraphNode[] = [];
  for (const n of graph.nodes) {
    if (removed.has(n)) continue;
    const r = replaced.get(n);
    if (r) delete tensors[n.outputs[0]!];
    nodes.push(r ?? n);
  }
  return { graph: { ...graph, nodes, params, tensors }, weights: newWeights };
}
