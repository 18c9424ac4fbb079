import type { Graph, GraphNode } from '../ir/graph.js';
import { shapesEqual } from '../tensor.js';

/**
 * A node that passes its only input through unchanged (in evaluation; with `training`, the
 * regularisers that act only in training are kept).
 */
export function isIdentity(node: GraphNode, graph: Graph, options: { training?: boolean } = {}): boolean {
  if (node.inputs.length !== 1 || node.outputs.length !== 1) return false;
  const inShape = graph.tensors[node.inputs[0]!]!.shape;
  const outShape = graph.tensors[node.outputs[0]!]!.shape;
  if (!shapesEqual(inShape, outShape)) return false;
  switch (node.op) {
    case 'dropPath':
    case 'dropBlock':
      return !options.training;
    case 'reshape':
    case 'flatten':
    case 'concat':
    case 'split':
      return true;
    case 'transpose':
      return node.attrs.perm.every((p, i) => p === i);
    case 'maxPool':
    case 'avgPool': {
      const a = node.attrs;
      return (
        a.kernel.every((k) => k === 1) && a.stride.every((s) => s === 1) && a.padding.every((p) => p === 0)
      );
    }
    default:
      return false;
  }
}

/** Drops identity nodes and rewires their consumers to the identity's input. */
export function removeIdentities(graph: Graph, options: { training?: boolean } = {}): Graph {
  const rename = new Map<string, string>();
  const resolve = (t: string): string => rename.get(t) ?? t;
  const outputs = new Set(graph.outputs);
  const nodes: GraphNode[] = [];
  const tensors = { ...graph.tensors };
  for (const node of graph.nodes) {
    const inputs = node.inputs.map(resolve);
    const n = { ...node, inputs };
    if (isIdentity(n, graph, options) && !outputs.has(node.outputs[0]!)) {
      rename.set(node.outputs[0]!, inputs[0]!);
      delete tensors[node.outputs[0]!];
      continue;
    }
    nodes.push(n);
  }
  return { ...graph, nodes, tensors };
}
