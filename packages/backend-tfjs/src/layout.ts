import type * as TF from '@tensorflow/tfjs';

/**
 * A value inside a compiled program. 4-D feature maps live as NHWC (tfjs's native layout);
 * every other tensor keeps the IR's layout. `nchwShape` is always the IR's view.
 */
export interface Value {
  t: TF.Tensor;
  nhwc: boolean;
}

/** IR (NCHW) axis -> NHWC axis for a 4-D tensor. */
export const NHWC_AXIS = [0, 3, 1, 2] as const;

export function toPlain(v: Value): TF.Tensor {
  return v.nhwc ? v.t.transpose([0, 3, 1, 2]) : v.t;
}

/** Wraps a tensor in the IR layout: 4-D tensors are moved to NHWC. */
export function fromPlain(t: TF.Tensor): Value {
  return t.rank === 4 ? { t: t.transpose([0, 2, 3, 1]), nhwc: true } : { t, nhwc: false };
}

export function mapAxis(v: Value, axis: number): number {
  const rank = v.t.rank;
  const a = axis < 0 ? axis + rank : axis;
  return v.nhwc ? NHWC_AXIS[a]! : a;
}

/** The IR (NCHW) shape of a value. */
export function irShape(v: Value): number[] {
  const s = v.t.shape;
  return v.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}
