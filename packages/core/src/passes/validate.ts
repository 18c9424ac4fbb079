import { formatShape, GraphError, ShapeError } from '../errors.js';
import type { Attrs, Graph, GraphNode } from '../ir/graph.js';
import { getOp, resolveNodeAttrs } from '../ops/registry.js';
import { shapesEqual } from '../tensor.js';

/**
 * Checks a graph: known ops, valid attrs, topological order, every tensor defined once, the
 * recorded shapes equal to the inferred ones, and parameter shapes equal to what each op
 * needs. Errors name the module path and the expected and actual shapes.
 */
export function validateGraph(graph: Graph): Graph {
  if (graph.inputs.length === 0) throw new GraphError(`graph '${graph.name}' has no inputs`);
  if (graph.outputs.length === 0) throw new GraphError(`graph '${graph.name}' has no outputs`);
  const defined = new Set<string>();
  for (const input of graph.inputs) {
    const rec = Object.hasOwn(graph.tensors, input.name) ? graph.tensors[input.name] : undefined;
    if (!rec || !shapesEqual(rec.shape, input.shape))
      throw new GraphError(`input '${input.name}' has no matching tensor entry`);
    defined.add(input.name);
  }
  const usedParams = new Set<string>();
  const nodes: GraphNode[] = [];
  for (const raw of graph.nodes) {
    const where = raw.path || raw.name;
    const def = getOp(raw.op);
    const ctx = { path: where };
    if (raw.inputs.length < def.arity[0] || raw.inputs.length > def.arity[1]) {
      throw new GraphError(
        `${where}: ${raw.op} takes ${def.arity[0]}..${def.arity[1]} inputs, got ${raw.inputs.length}`,
      );
    }
    // The node's attributes checked against its op's declaration and completed with its defaults
    // (a document may leave them out), in a new node: the caller's graph is not changed.
    const node = { ...raw, attrs: resolveNodeAttrs(raw.op, raw.attrs as unknown as Attrs, ctx) } as GraphNode;
    nodes.push(node);
    for (const t of node.inputs) {
      if (!defined.has(t))
        throw new GraphError(
          `${where}: input '${t}' is not defined before this node (graph not in topological order?)`,
        );
    }
    const inShapes = node.inputs.map((t) => graph.tensors[t]!.shape);
    const outShapes = def.inferShapes(inShapes, node.attrs, ctx);
    if (outShapes.length !== node.outputs.length) {
      throw new GraphError(
        `${where}: ${node.op} produces ${outShapes.length} outputs, node lists ${node.outputs.length}`,
      );
    }
    node.outputs.forEach((t, i) => {
      if (defined.has(t)) throw new GraphError(`${where}: tensor '${t}' is defined twice`);
      const rec = Object.hasOwn(graph.tensors, t) ? graph.tensors[t] : undefined;
      if (!rec) throw new GraphError(`${where}: output tensor '${t}' has no shape entry`);
      if (!shapesEqual(rec.shape, outShapes[i]!)) {
        throw new ShapeError(
          `${where}: output '${t}' expected shape ${formatShape(outShapes[i]!)}, recorded ${formatShape(rec.shape)}`,
        );
      }
      defined.add(t);
    });
    for (const req of def.params(inShapes, node.attrs)) {
      const key = Object.hasOwn(node.params, req.role) ? node.params[req.role] : undefined;
      if (!key) throw new GraphError(`${where}: ${node.op} needs a '${req.role}' parameter`);
      const spec = Object.hasOwn(graph.params, key) ? graph.params[key] : undefined;
      if (!spec) throw new GraphError(`${where}: parameter '${key}' is not declared`);
      if (!shapesEqual(spec.shape, req.shape)) {
        throw new ShapeError(
          `${where}: parameter '${key}' expected shape ${formatShape(req.shape)}, declared ${formatShape(spec.shape)}`,
        );
      }
      usedParams.add(key);
    }
  }
  for (const out of graph.outputs)
    if (!defined.has(out)) throw new GraphError(`output '${out}' is never computed`);
  for (const key of Object.keys(graph.params)) {
    if (!usedParams.has(key)) throw new GraphError(`parameter '${key}' is declared but no node uses it`);
  }
  return { ...graph, nodes };
}
