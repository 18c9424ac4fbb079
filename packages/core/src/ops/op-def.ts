import type { GradRule } from '../grad/rule.js';
import type { AttrsOf } from '../ir/attrs.js';
import type { OpName, ParamInit } from '../ir/graph.js';
import type { Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';

/** A parameter an op needs, by role, with its shape derived from attrs and input shapes. */
export interface ParamRequirement {
  role: string;
  shape: number[];
  kind: 'parameter' | 'buffer';
  dtype: 'float32' | 'int64';
  /** Optional roles may be absent from a weight file (BatchNorm's num_batches_tracked). */
  optional?: boolean;
  init: ParamInit;
}

export interface ShapeContext {
  /** Module path, for error messages. */
  path: string;
}

export interface ReferenceArgs<O extends OpName = OpName> {
  inputs: Tensor[];
  params: Record<string, Tensor>;
  attrs: AttrsOf<O>;
}

type Shapes = readonly (readonly number[])[];

/**
 * One op of the IR: everything a backend or a pass needs to know about it. Its attributes are
 * declared once (`attrs`: types and defaults); every other member receives them resolved. The
 * reference kernel is the executable definition of the op.
 */
export interface OpDef<O extends OpName = OpName> {
  name: O;
  /** Minimum and maximum number of inputs. */
  arity: [number, number];
  /** The attribute declaration: kinds and defaults. */
  attrs: AttrSchema<AttrsOf<O>>;
  /** Output shapes from input shapes; throws ShapeError naming the path and the shapes. */
  inferShapes(inputShapes: Shapes, attrs: AttrsOf<O>, ctx: ShapeContext): number[][];
  /** Parameters the op needs. */
  params(inputShapes: Shapes, attrs: AttrsOf<O>): ParamRequirement[];
  /** Multiply-accumulates for these shapes (0 for ops that are not conv or linear). */
  macs(inputShapes: Shapes, outputShapes: Shapes, attrs: AttrsOf<O>): number;
  reference(args: ReferenceArgs<O>): Tensor[];
  /**
   * The gradient rule (grad/): how the loss's gradient flows back through this op, written as
   * IR. An op without one cannot be trained through; trainingGraph refuses it by name.
   */
  grad?: GradRule<O>;
}
