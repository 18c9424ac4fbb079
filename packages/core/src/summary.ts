import type { Graph, OpName } from './ir/graph.js';
import { getOp } from './ops/registry.js';
import { shapeSize } from './tensor.js';

export interface LayerSummary {
  /** Module path (`layer1.0.conv2`). */
  path: string;
  op: OpName;
  outputShape: number[];
  /** Trainable parameters of this node. */
  params: number;
  macs: number;
}

export interface ModelSummary {
  model: string;
  /** PyTorch's `sum(p.numel() for p in model.parameters())`: buffers excluded. */
  params: number;
  /** Elements in buffers (BatchNorm running statistics). */
  buffers: number;
  /** Multiply-adds of conv and linear for the graph's input shape. */
  macs: number;
  inputShape: number[];
  outputShape: number[];
  layers: LayerSummary[];
}

/** The layer table and totals of a graph. */
export function summarize(graph: Graph): ModelSummary {
  let params = 0;
  let buffers = 0;
  for (const spec of Object.values(graph.params)) {
    if (spec.kind === 'parameter') params += shapeSize(spec.shape);
    else if (spec.dtype === 'float32') buffers += shapeSize(spec.shape);
  }
  let macs = 0;
  const layers = graph.nodes.map((node) => {
    const inShapes = node.inputs.map((t) => graph.tensors[t]!.shape);
    const outShapes = node.outputs.map((t) => graph.tensors[t]!.shape);
    const m = getOp(node.op).macs(inShapes, outShapes, node.attrs);
    macs += m;
    const p = Object.values(node.params).reduce((s, key) => {
      const spec = graph.params[key]!;
      return spec.kind === 'parameter' ? s + shapeSize(spec.shape) : s;
    }, 0);
    return { path: node.path, op: node.op, outputShape: [...outShapes[0]!], params: p, macs: m };
  });
  return {
    model: graph.name,
    params,
    buffers,
    macs,
    inputShape: [...graph.inputs[0]!.shape],
    outputShape: [...graph.tensors[graph.outputs[0]!]!.shape],
    layers,
  };
}

export interface StageSummary {
  stage: string;
  params: number;
  macs: number;
}

/** Params and MACs grouped by top-level module (stem parts, layer1..N, fc). */
export function summarizeStages(summary: ModelSummary): StageSummary[] {
  const stages = new Map<string, StageSummary>();
  for (const l of summary.layers) {
    const top = l.path.split('.')[0] || '<root>';
    const s = stages.get(top) ?? { stage: top, params: 0, macs: 0 };
    s.params += l.params;
    s.macs += l.macs;
    stages.set(top, s);
  }
  return [...stages.values()];
}
