// Kept apart from the importers so that the public declarations do not reach the protobuf types.
/**
 * Inputs each op reads as constants (weights, shapes, axes, bounds), by position: a file must
 * hold them as initializers or Constant nodes. (A test harness binds such inputs as parameters.)
 */
export const CONSTANT_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Conv: [1, 2],
  BatchNormalization: [1, 2, 3, 4],
  Gemm: [1, 2],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  Reshape: [1],
  Split: [1],
  ReduceMean: [1],
  ReduceSum: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  Slice: [1, 2, 3, 4],
  Gather: [1],
};
