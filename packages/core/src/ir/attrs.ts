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
  sub: NoAttrs;
  div: NoAttrs;
  leakyRelu: { alpha: number };
  /** max(0, min(1, alpha * x + beta)), ONNX's HardSigmoid (PyTorch's is alpha 1/6, beta 0.5). */
  hardSigmoid: { alpha: number; beta: number };
  hardSwish: NoAttrs;
  /** min(max(x, min), max); an absent bound is +-3.4028234663852886e38 (float32's largest). */
  clip: { min: number; max: number };
  globalMaxPool: NoAttrs;
  reduceMean: ReduceAttrs;
  reduceSum: ReduceAttrs;
  /** NumPy's matmul of two inputs of the same rank >= 2, batch axes broadcast. */
  matMul: NoAttrs;
  /** Constant padding: pads is [begin of each axis..., end of each axis...] (ONNX's order). */
  pad: { pads: number[]; value: number };
  /** A tensor held as a buffer parameter (`value`), for constants an imported graph computes with. */
  constant: { shape: number[] };
  /** 1-D convolution over [N, C, L] (ECA's conv over channels); padding is [begin, end]. */
  conv1d: Conv1dAttrs;
  /** GroupNorm: per sample and group of C/groups channels, biased variance, per-channel affine. */
  groupNorm: { groups: number; eps: number };
  /**
   * timm's BlurPool2d: reflect padding, then a depthwise binomial filter of `filterSize` taps
   * per axis (1 2 1 / 4 for 3), at `stride`. The filter is fixed (no parameters).
   */
  blurPool: { filterSize: number; stride: number };
  /**
   * Stochastic depth (timm's DropPath): in training each sample's branch is zeroed with
   * probability `rate` and the rest scaled by 1 / (1 - rate); the identity in evaluation.
   */
  dropPath: { rate: number };
  /**
   * timm's DropBlock2d: in training, blocks of `blockSize` (one mask for all channels) dropped at
   * seed rate gamma and the kept values rescaled; the identity in evaluation.
   */
  dropBlock: { rate: number; blockSize: number; gammaScale: number };

  // The ops of training graphs (grad/): the forward ops that training computes differently,
  // the loss, and the backward ops that gradient rules emit. See TRAINING_OPS.

  /**
   * Training-mode BatchNorm: normalises with the batch's mean and biased variance over (N, H, W)
   * and outputs [y, batch mean, 1 / sqrt(var + eps), new running_mean, new running_var], the
   * running statistics updated as PyTorch does (momentum, unbiased variance).
   */
  batchNormTrain: BatchNormAttrs;
  /** BatchNorm's backward from (dy, x, batch mean, inverse std): [dx, dweight, dbias]. */
  batchNormGrad: BatchNormAttrs;
  /** GroupNorm's backward from (dy, x): [dx, dweight, dbias]. */
  groupNormGrad: { groups: number; eps: number };
  /** A convolution's input gradient from (dy, weight): the transposed convolution onto `inputSize`. */
  conv2dGradInput: Conv2dAttrs & { inputSize: [number, number] };
  /** A convolution's weight gradient from (x, dy). */
  conv2dGradWeight: Conv2dAttrs;
  /** ReLU's backward from (dy, y): dy where y > 0, else 0 (PyTorch's threshold_backward). */
  reluGrad: NoAttrs;
  /** Sigmoid's backward from (dy, y): dy * y * (1 - y). */
  sigmoidGrad: NoAttrs;
  /** Max pooling's backward from (dy, x): each window's dy to its first largest input. */
  maxPoolGrad: PoolAttrs;
  /** Average pooling's backward from dy onto `inputSize`. */
  avgPoolGrad: PoolAttrs & { inputSize: [number, number] };
  /** BlurPool's backward from dy onto `inputSize` (the filter transposed, reflection folded back). */
  blurPoolGrad: { filterSize: number; stride: number; inputSize: [number, number] };
  /** Broadcasts a tensor to `shape` (same rank; axes of size 1 repeated), ONNX's Expand. */
  expand: { shape: number[] };
  /** alpha * x. */
  scale: { alpha: number };
  /** log(softmax(x)) along `axis`, computed stably. */
  logSoftmax: AxisAttrs;
}

export interface Conv1dAttrs {
  outChannels: number;
  kernel: number;
  stride: number;
  padding: [number, number];
  dilation: number;
  groups: number;
  bias: boolean;
}

/** Reductions over `axes` (sorted, non-negative), kept as size-1 axes when keepDims. */
export interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

export type AttrsOf<O extends keyof OpAttrs> = OpAttrs[O];
