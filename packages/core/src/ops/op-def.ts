import type { Attrs, OpName } from '../ir/graph.js';
import type { Tensor } from '../tensor.js';

/** A parameter an op needs, by role, with its shape derived from attrs and input shapes. */
export interface ParamRequirement {
  role: string;
  shape: number[];
  kind: 'parameter' | 'buffer';
  dtype: 'float32' | 'int64';
  /** Optional roles may be absent from a weight file (BatchNorm's num_batches_tracked). */
  optional?: boolean;
  init: import('../ir/graph.js').ParamInit;
}

export interface ShapeContext {
  /** Module path, for error messages. */
  path: string;
}

export interface ReferenceArgs {
  inputs: Tensor[];
  params: Record<string, Tensor>;
  attrs: Attrs;
}

/**
 * One op of the IR: everything a backend or a pass needs to know about it.
 * The reference kernel is the executable definition of the op.
 */
export interface OpDef {
  name: OpName;
  /** Minimum and maximum number of inputs. */
  arity: [number, number];
  /** Checks attrs; throws GraphError naming the path when one is missing or wrong. */
  checkAttrs(attrs: Attrs, ctx: ShapeContext): void;
  /** Output shapes from input shapes; throws ShapeError naming the path and the shapes. */
  inferShapes(inputShapes: readonly (readonly number[])[], attrs: Attrs, ctx: ShapeContext): number[][];
  /** Parameters the op needs. */
  params(inputShapes: readonly (readonly number[])[], attrs: Attrs): ParamRequirement[];
  /** Multiply-accumulates for these shapes (0 for ops that are not conv or linear). */
  macs(
    inputShapes: readonly (readonly number[])[],
    outputShapes: readonly (readonly number[])[],
    attrs: Attrs,
  ): number;
  reference(args: ReferenceArgs): Tensor[];
}
