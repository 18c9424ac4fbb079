import { GraphError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { GraphNode, NodeBase, NodeOf, OpName, WeightMap } from './graph.js';

/**
 * One function per op, each receiving nodes of its own op with their attributes typed: the
 * shape of every backend's lowering table (and the compiler checks that none is missing).
 */
export type OpTable<Args extends unknown[], R> = {
  readonly [O in OpName]: (node: NodeOf<O>, ...args: Args) => R;
};

/** Calls the table's function for the node's op. */
export function dispatchOp<Args extends unknown[], R>(
  table: OpTable<Args, R>,
  node: GraphNode,
  ...args: Args
): R {
  // The one cast: TypeScript cannot tie a union node's op to the table entry that takes it.
  return (table[node.op] as (node: GraphNode, ...args: Args) => R)(node, ...args);
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
