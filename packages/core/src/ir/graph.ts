/** The only dtype the IR computes in for now. */
export type DType = 'float32';

import type { AttrsOf, OpAttrs } from './attrs.js';

/** The primitive ops of the IR. Blocks are not ops: builders emit these. */
export type OpName = keyof OpAttrs;

/** Attributes as written in a graph document or handed to the builder, before they are resolved. */
export type AttrValue = number | boolean | string | number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: DType;
}

/** What every node has, whatever its op. */
export interface NodeBase {
  /** Unique within the graph. */
  name: string;
  /** The module path the node came from, as in PyTorch (`layer1.0.conv2`). */
  path: string;
  inputs: string[];
  outputs: string[];
  /** Role (`weight`, `bias`, `running_mean`, ...) -> parameter name (a state_dict key). */
  params: Record<string, string>;
}

/** A node of one op, with that op's resolved attributes. */
export type NodeOf<O extends OpName> = NodeBase & { op: O; attrs: AttrsOf<O> };

/** Any node: narrowing on `op` types `attrs`. */
export type GraphNode = { [O in OpName]: NodeOf<O> }[OpName];

/**
 * `parameter`: trainable, counted in `params` like PyTorch's `model.parameters()`.
 * `buffer`: state such as BatchNorm running statistics, saved but not trained.
 */
export type ParamKind = 'parameter' | 'buffer';

/** How a parameter is initialised when no weights are given. */
export type ParamInit =
  | { kind: 'kaimingNormalFanOut' }
  | { kind: 'uniformFanIn'; fanIn: number }
  | { kind: 'constant'; value: number };

export interface ParamSpec {
  shape: number[];
  /** Storage dtype in a state_dict: `int64` only for `num_batches_tracked`. */
  dtype: 'float32' | 'int64';
  kind: ParamKind;
  init: ParamInit;
}

export interface Graph {
  name: string;
  inputs: TensorSpec[];
  outputs: string[];
  /** Topological order. */
  nodes: GraphNode[];
  /** Parameter name -> spec, in PyTorch state_dict order. */
  params: Record<string, ParamSpec>;
  /** Every tensor of the graph (inputs and node outputs) with its static shape. */
  tensors: Record<string, TensorSpec>;
}

/** Parameter values by state_dict key. */
export type WeightMap = Map<string, import('../tensor.js').Tensor>;
