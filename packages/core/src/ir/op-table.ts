import { GraphError, UnsupportedError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { GraphNode, NodeBase, NodeOf, OpName, WeightMap } from './graph.js';

/**
 * One function per op, each receiving nodes of its own op with their attributes typed: the
 * shape of every backend's lowering table (and the compiler checks that none is missing).
 */
export type OpTable<Args extends unknown[], R, Ops extends OpName = OpName> = {
  readonly [O in Ops]: (node: NodeOf<O>, ...args: Args) => R;
};

/**
 * Calls the table's function for the node's op. A table may cover fewer ops than the IR has (a
 * backend that does not lower the training ops yet): a node outside it is refused by name.
 */
export function dispatchOp<Args extends unknown[], R, Ops extends OpName>(
  table: OpTable<Args, R, Ops>,
  node: GraphNode,
  ...args: Args
): R {
  const f = Object.hasOwn(table, node.op) ? (table as Partial<Record<OpName, unknown>>)[node.op] : undefined;
  if (!f)
    throw new UnsupportedError(
      `${node.path || node.name}: op '${node.op}' is not lowered by this backend (a training op: see the backend's supportedOps)`,
    );
  // The one cast: TypeScript cannot tie a union node's op to the table entry that takes it.
  return (f as (node: GraphNode, ...args: Args) => R)(node, ...args);
}

/**
 * The one parameter lookup of every backend: a value by state_dict key (in a weight map or a
 * backend's own map of runtime tensors), or a GraphError naming where it was needed.
 */
export function requireWeight<T>(values: ReadonlyMap<string, T>, key: string, where: string): T {
  const t = values.get(key);
  if (t === undefined) throw new GraphError(`${where}: no value for parameter '${key}'`);
  return t;
}

/** A node's parameter value by role, or a GraphError naming the node and the role. */
export function requireParam(weights: WeightMap, node: NodeBase, role: string): Tensor {
  const where = node.path || node.name;
  const key = Object.hasOwn(node.params, role) ? node.params[role] : undefined;
  if (key === undefined) throw new GraphError(`${where}: no value for parameter '${role}'`);
  return requireWeight(weights, key, `${where} (${role})`);
}
