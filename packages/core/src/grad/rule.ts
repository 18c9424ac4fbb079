import type { AttrsOf } from '../ir/attrs.js';
import type { NodeOf, OpName } from '../ir/graph.js';

/** A tensor of a training graph: its name and static shape. */
export interface GradTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * What a gradient rule may do: look up the forward tensors it differentiates and emit ops into
 * the backward graph (shapes inferred as they are added, as GraphBuilder does).
 */
export interface GradEmitter {
  /** A tensor of the training graph by name (a forward node's input or output). */
  tensor(name: string): GradTensor;
  /** Adds one node; `params` binds roles to existing parameters by state_dict key. */
  op<O extends OpName>(
    op: O,
    inputs: readonly GradTensor[],
    attrs: Partial<AttrsOf<O>>,
    params?: Readonly<Record<string, string>>,
  ): GradTensor[];
  /** A parameter's current value as a tensor of the graph (a `constant` node reading its key). */
  param(key: string): GradTensor;
  /** Sums `dy` over the axes where `shape` has 1 and dy does not: the adjoint of broadcasting. */
  unbroadcast(dy: GradTensor, shape: readonly number[]): GradTensor;
}

/**
 * The gradients a node sends back: one per input (undefined where none is needed or none
 * exists) and one per parameter role that has one (`weight`, `bias`).
 */
export interface GradResult {
  inputs: readonly (GradTensor | undefined)[];
  params?: Readonly<Record<string, GradTensor>>;
}

/**
 * An op's gradient rule, written as IR: given its node in the training graph and the loss's
 * gradient for each of the node's outputs (undefined where none flows back), it emits the
 * backward nodes and returns the gradients of its inputs and parameters.
 */
export type GradRule<O extends OpName> = (
  node: NodeOf<O>,
  dys: readonly (GradTensor | undefined)[],
  g: GradEmitter,
) => GradResult;
