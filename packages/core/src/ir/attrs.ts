/**
 * The attributes of every op, typed. Each op's attribute declaration (types and defaults, in
 * ops/) resolves raw attributes into these once, when a node is built or a graph document is
 * read; nodes carry them resolved, so no backend casts or re-defaults an attribute.
 */

/** conv2d attributes. padding is [top, left, bottom, right] (ONNX's begin/end order). */
export interface Conv2dAttrs {
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

/** Pooling attributes; padding is [top, left, bottom, right]. */
export interface PoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation: [number, number];
  ceilMode: boolean;
  /** avgPool: whether padded positions count in the divisor (PyTorch's default: true). */
  countIncludePad: boolean;
}

export interface BatchNormAttrs {
  eps: number;
  momentum: number;
}

export interface AxisAttrs {
  axis: number;
}

/** An op without attributes. */
export type NoAttrs = Record<never, never>;

/** Op name -> its resolved attributes. The op names of the IR are this interface's keys. */
export interface OpAttrs {
  conv2d: Conv2dAttrs;
  batchNorm: BatchNormAttrs;
  relu: NoAttrs;
  sigmoid: NoAttrs;
  softmax: AxisAttrs;
  add: NoAttrs;
  mul: NoAttrs;
  concat: AxisAttrs;
  split: { axis: number; sizes: number[] };
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  maxPool: PoolAttrs;
  avgPool: PoolAttrs;
  globalAvgPool: NoAttrs;
  flatten: AxisAttrs;
  linear: { outFeatures: number; bias: boolean };
}

export type AttrsOf<O extends keyof OpAttrs> = OpAttrs[O];
