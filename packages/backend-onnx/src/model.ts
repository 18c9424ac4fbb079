import {
  dispatchOp,
  type Graph,
  inferShapes,
  prepareForInference,
  type TrainingGraph,
  UsageError,
  validateGraph,
  type WeightMap,
} from '@cardinal/core';
import { LoweringContext } from './lower/context.js';
import { LOWERINGS } from './lower/index.js';
import { onnx, valueInfo } from './proto.js';

/** ONNX opset and IR version: old enough for Debian's python3-onnx 1.12 checker and older runtimes. */
export const OPSET = 17;
export const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Fold BatchNorm into the preceding conv (default true), as PyTorch's exporter does. */
  foldBatchNorm?: boolean;
  /**
   * Name of the symbolic batch dimension (default 'N'); null keeps the graph's static batch, as
   * does a graph that cannot run at another batch (an import of a file with static shapes).
   */
  batchDim?: string | null;
  producerVersion?: string;
  /**
   * Names for the file's outputs, one per graph output (a feature extractor's `feature.0` ...):
   * each is an Identity of the graph's tensor.
   */
  outputNames?: readonly string[];
}

/**
 * Whether the graph runs at another batch size: not so when a reshape target or a constant
 * bakes its batch in (an import of a file exported with static shapes). Such a graph is
 * written with its static batch, never as one that claims any batch and fails on it.
 */
function batchFree(g: Graph): boolean {
  if (g.inputs.length !== 1) return false;
  const [b, ...rest] = g.inputs[0]!.shape;
  try {
    inferShapes(g, { [g.inputs[0]!.name]: [b! + 1, ...rest] });
    return true;
  } catch {
    return false;
  }
}

/**
 * @internal (protobuf types stay out of the public declarations)
 * Lowers a graph and its weights to an ONNX ModelProto: one ONNX node per IR node, named
 * after its module path; parameters as initializers named by their state_dict keys.
 */
export function toModelProto(graph: Graph, weights: WeightMap, options: OnnxExportOptions = {}) {
  const prepared = prepareForInference(graph, weights, options);
  const g = prepared.graph;
  validateGraph(g);
  const ctx = new LoweringContext(prepared.weights, g.tensors);
  for (const node of g.nodes) dispatchOp(LOWERINGS, node, ctx);
  const wanted = options.batchDim === undefined ? 'N' : options.batchDim;
  const batch = wanted !== null && batchFree(g) ? wanted : undefined;
  const names = options.outputNames;
  if (names && names.length !== g.outputs.length)
    throw new UsageError(`${graph.name}: ${names.length} output names for ${g.outputs.length} outputs`);
  if (names)
    for (const [i, o] of g.outputs.entries())
      ctx.nodes.push(
        onnx.NodeProto.create({
          name: `output/${names[i]}`,
          opType: 'Identity',
          input: [o],
          output: [names[i]!],
        }),
      );
  const outputs = g.outputs.map((o, i) => valueInfo(names?.[i] ?? o, g.tensors[o]!.shape, batch));
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'cardinal',
    producerVersion: options.producerVersion ?? '0.1.0',
    docString: `Cardinal graph '${graph.name}'`,
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: ctx.nodes,
      initializer: ctx.initializers,
      input: g.inputs.map((i) => valueInfo(i.name, i.shape, batch)),
      output: outputs,
    }),
  });
}

/**
 * @internal
 * A training graph as one ONNX model: every parameter and buffer it reads is a graph input (no
 * initializers of weights), so one session runs each step with that step's weights. No
 * inference passes: the graph is lowered as trainingGraph wrote it.
 */
export function trainingModelProto(training: TrainingGraph, weights: WeightMap) {
  const g = training.graph;
  const ctx = new LoweringContext(weights, g.tensors, g.params);
  for (const node of g.nodes) dispatchOp(LOWERINGS, node, ctx);
  const paramInputs = [...ctx.paramInputs].map(([key, shape]) => valueInfo(key, shape));
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'cardinal',
    docString: `Cardinal training graph '${g.name}'`,
    graph: onnx.GraphProto.create({
      name: g.name,
      node: ctx.nodes,
      initializer: ctx.initializers,
      input: [...g.inputs.map((i) => valueInfo(i.name, i.shape)), ...paramInputs],
      output: g.outputs.map((o) => valueInfo(o, g.tensors[o]!.shape)),
    }),
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), paramInputs: [...ctx.paramInputs.keys()] };
}

/** The serialised .onnx bytes. */
export function exportOnnx(graph: Graph, weights: WeightMap, options: OnnxExportOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(graph, weights, options)).finish();
}
