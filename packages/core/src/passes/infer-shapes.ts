import { formatShape, GraphError, ShapeError } from '../errors.js';
import type { Graph, TensorSpec } from '../ir/graph.js';
import { getOp } from '../ops/registry.js';
import { shapesEqual } from '../tensor.js';

/**
 * Recomputes every tensor shape for new input shapes (another batch size or image size).
 * Parameter shapes must not change; when they would, the error names the node.
 */
export function inferShapes(
  graph: Graph,
  inputShapes: Readonly<Record<string, readonly number[]>> = {},
): Graph {
  const tensors: Record<string, TensorSpec> = {};
  const inputs = graph.inputs.map((i) => {
    const shape = [...(inputShapes[i.name] ?? i.shape)];
    if (shape.length !== i.shape.length) {
      throw new ShapeError(`input '${i.name}': expected rank ${i.shape.length}, got ${formatShape(shape)}`);
    }
    const spec = { ...i, shape };
    tensors[i.name] = spec;
    return spec;
  });
  for (const node of graph.nodes) {
    const def = getOp(node.op);
    const inShapes = node.inputs.map((t) => {
      const s = tensors[t];
      if (!s) throw new GraphError(`${node.path}: input '${t}' is not defined before this node`);
      return s.shape;
    });
    const outShapes = def.inferShapes(inShapes, node.attrs, { path: node.path || node.name });
    for (const req of def.params(inShapes, node.attrs)) {
      const key = node.params[req.role];
      const spec = key ? graph.params[key] : undefined;
      if (spec && !shapesEqual(spec.shape, req.shape)) {
        throw new ShapeError(
          `${node.path}: parameter '${key}' would need shape ${formatShape(req.shape)}, has ${formatShape(spec.shape)}`,
        );
      }
    }
    node.outputs.forEach((t, i) => {
      tensors[t] = { name: t, shape: outShapes[i]!, dtype: 'float32' };
    });
  }
  return { ...graph, inputs, tensors };
}
