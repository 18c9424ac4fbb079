import { ConfigError } from '../errors.js';
import type { GraphBuilder, SymbolicTensor } from '../ir/builder.js';
import { convNormAct, type DropBlockSpec, makeDivisible } from './common.js';

export interface SEOptions {
  channels: number;
  rdRatio?: number;
  rdChannels?: number;
  rdDivisor?: number;
  bias?: boolean;
}

/**
 * timm SEModule: global mean -> fc1 (1x1 conv) -> ReLU -> fc2 -> sigmoid, scaling x.
 * Reduced width make_divisible(channels * rd_ratio, rd_divisor, round_limit=0).
 */
export function seModule(b: GraphBuilder, x: SymbolicTensor, module: string, o: SEOptions): SymbolicTensor {
  const rd =
    o.rdChannels ?? makeDivisible(o.channels * (o.rdRatio ?? 1 / 16), o.rdDivisor ?? 8, undefined, 0);
  const bias = o.bias ?? true;
  return b.scope(module, () => {
    let s = b.globalAvgPool(x, 'pool');
    s = b.conv2d(s, 'fc1', { outChannels: rd, kernel: 1, bias });
    s = b.relu(s, 'act');
    s = b.conv2d(s, 'fc2', { outChannels: o.channels, kernel: 1, bias });
    s = b.sigmoid(s, 'gate');
    return b.mul(x, s, 'scale');
  });
}

export interface SelectiveKernelOptions {
  inChannels: number;
  outChannels?: number;
  /** Kernel sizes of the paths; default [3, 5]. */
  kernelSize?: number | number[];
  stride?: number;
  dilation?: number;
  groups?: number;
  rdRatio?: number;
  rdChannels?: number;
  rdDivisor?: number;
  /** Replace each kxk path with a dilated 3x3 of the same receptive field (default true). */
  keep3x3?: boolean;
  /** Feed each path its own slice of the input channels (default true). */
  splitInput?: boolean;
  /** DropBlock in each path after its norm (training only). */
  drop?: DropBlockSpec | undefined;
}

/**
 * timm SelectiveKernel: parallel conv-bn-relu paths (`paths.N`), then SelectiveKernelAttn
 * (`attn`): sum of paths -> mean -> fc_reduce -> bn -> ReLU -> fc_select, a softmax over
 * paths per channel, and the paths summed with those weights.
 */
export function selectiveKernel(
  b: GraphBuilder,
  x: SymbolicTensor,
  module: string,
  o: SelectiveKernelOptions,
): SymbolicTensor {
  const out = o.outChannels ?? o.inChannels;
  let kernels =
    o.kernelSize === undefined
      ? [3, 5]
      : Array.isArray(o.kernelSize)
        ? [...o.kernelSize]
        : [o.kernelSize, o.kernelSize];
  for (const k of kernels) {
    if (k < 3 || k % 2 === 0)
      throw new ConfigError(`${b.path(module)}: selective kernel sizes must be odd and >= 3, got ${k}`);
  }
  const baseDilation = o.dilation ?? 1;
  let dilations: number[];
  if (o.keep3x3 ?? true) {
    dilations = kernels.map((k) => Math.floor((baseDilation * (k - 1)) / 2));
    kernels = kernels.map(() => 3);
  } else {
    dilations = kernels.map(() => baseDilation);
  }
  const numPaths = kernels.length;
  const splitInput = o.splitInput ?? true;
  if (splitInput && o.inChannels % numPaths !== 0) {
    throw new ConfigError(
      `${b.path(module)}: split_input needs in_channels ${o.inChannels} divisible by ${numPaths} paths`,
    );
  }
  const groups = Math.min(out, o.groups ?? 1);
  const attnChannels = o.rdChannels ?? makeDivisible(out * (o.rdRatio ?? 1 / 16), o.rdDivisor ?? 8);
  return b.scope(module, () => {
    const inputs = splitInput
      ? b.split(x, new Array(numPaths).fill(o.inChannels / numPaths), 1, 'split')
      : kernels.map(() => x);
    const paths = b.scope('paths', () =>
      kernels.map((k, i) =>
        convNormAct(b, inputs[i]!, i, {
          outChannels: out,
          kernel: k,
          stride: o.stride ?? 1,
          dilation: dilations[i]!,
          groups,
          drop: o.drop,
        }),
      ),
    );
    const weights = b.scope('attn', () => {
      let s = b.sum(paths, 'sum');
      s = b.globalAvgPool(s, 'pool');
      s = b.conv2d(s, 'fc_reduce', { outChannels: attnChannels, kernel: 1 });
      s = b.norm(s, 'bn');
      s = b.relu(s, 'act');
      s = b.conv2d(s, 'fc_select', { outChannels: out * numPaths, kernel: 1 });
      s = b.reshape(s, [0, numPaths, out], 'view');
      s = b.softmax(s, 1, 'softmax');
      s = b.reshape(s, [0, numPaths * out, 1, 1], 'flat');
      return b.split(s, new Array(numPaths).fill(out), 1, 'paths');
    });
    const weighted = paths.map((p, i) => b.mul(p, weights[i]!, 'select'));
    return b.sum(weighted, 'sum');
  });
}

export interface SplitAttnOptions {
  inChannels: number;
  outChannels?: number;
  kernelSize?: number;
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
  radix?: number;
  rdRatio?: number;
  rdChannels?: number;
  rdDivisor?: number;
  /** BatchNorm after the conv and fc1 (timm passes norm_layer=BatchNorm2d in ResNeSt). */
  norm?: boolean;
  /** DropBlock after bn0 (training only). */
  drop?: DropBlockSpec | undefined;
}

/**
 * timm SplitAttn (ResNeSt): one grouped conv producing `radix` radix-major splits, their sum
 * pooled -> fc1 -> bn1 -> ReLU -> fc2, a softmax over the radix axis per cardinal group (a
 * sigmoid when radix is 1), and the splits summed with those weights.
 */
export function splitAttn(
  b: GraphBuilder,
  x: SymbolicTensor,
  module: string,
  o: SplitAttnOptions,
): SymbolicTensor {
  const out = o.outChannels ?? o.inChannels;
  const radix = o.radix ?? 2;
  const groups = o.groups ?? 1;
  const k = o.kernelSize ?? 3;
  const mid = out * radix;
  const attnChs =
    o.rdChannels !== undefined
      ? o.rdChannels * radix
      : makeDivisible(o.inChannels * radix * (o.rdRatio ?? 0.25), o.rdDivisor ?? 8, 32);
  const norm = o.norm ?? true;
  return b.scope(module, () => {
    let y = b.conv2d(x, 'conv', {
      outChannels: mid,
      kernel: k,
      stride: o.stride ?? 1,
      padding: o.padding ?? Math.floor(k / 2),
      dilation: o.dilation ?? 1,
      groups: groups * radix,
      bias: o.bias ?? false,
    });
    if (norm) y = b.norm(y, 'bn0');
    if (o.drop) y = b.dropBlock(y, o.drop, 'drop');
    y = b.relu(y, 'act0');
    const splits = radix > 1 ? b.split(y, new Array(radix).fill(out), 1, 'split') : [y];
    let g = radix > 1 ? b.sum(splits, 'sum') : y;
    g = b.globalAvgPool(g, 'pool');
    g = b.conv2d(g, 'fc1', { outChannels: attnChs, kernel: 1, groups, bias: true });
    if (norm) g = b.norm(g, 'bn1');
    g = b.relu(g, 'act1');
    let a = b.conv2d(g, 'fc2', { outChannels: mid, kernel: 1, groups, bias: true });
    if (radix > 1) {
      // RadixSoftmax: fc2's channels are [cardinality, radix, rest]; softmax over radix, then
      // laid out radix-major to match the conv's splits.
      a = b.scope('rsoftmax', () => {
        let r = b.reshape(a, [0, groups, radix, -1], 'view');
        r = b.transpose(r, [0, 2, 1, 3], 'transpose');
        r = b.softmax(r, 1, 'softmax');
        return b.reshape(r, [0, mid, 1, 1], 'flat');
      });
      const weights = b.split(a, new Array(radix).fill(out), 1, 'attn_split');
      return b.sum(
        splits.map((s, i) => b.mul(s, weights[i]!, 'scale')),
        'out',
      );
    }
    a = b.scope('rsoftmax', () => b.sigmoid(a, 'sigmoid'));
    return b.mul(y, a, 'scale');
  });
}

export interface EcaOptions {
  /** The channels the kernel size adapts to (timm computes it from the declared width). */
  channels: number;
  /** A fixed kernel size instead of the adaptive one. */
  kernelSize?: number;
  gamma?: number;
  beta?: number;
}

/**
 * timm's adaptive ECA kernel: t = int(|log2(C) + beta| / gamma), the next odd number, at least 3.
 * log2 as Python's math.log(C, 2) computes it (log C / log 2), so the truncation agrees with timm.
 */
export function ecaKernelSize(channels: number, gamma = 2, beta = 1): number {
  const t = Math.trunc(Math.abs(Math.log(channels) / Math.log(2) + beta) / gamma);
  return Math.max(t % 2 ? t : t + 1, 3);
}

/**
 * timm EcaModule (`se.conv`): global mean over H, W -> a 1-D convolution across the channels
 * (one filter, zero padding (k - 1) / 2, no bias) -> sigmoid, scaling x.
 */
export function ecaModule(b: GraphBuilder, x: SymbolicTensor, module: string, o: EcaOptions): SymbolicTensor {
  const k = o.kernelSize ?? ecaKernelSize(o.channels, o.gamma, o.beta);
  if (k % 2 === 0) throw new ConfigError(`${b.path(module)}: ECA kernel size must be odd, got ${k}`);
  const c = x.shape[1]!;
  return b.scope(module, () => {
    let s = b.globalAvgPool(x, 'pool');
    s = b.reshape(s, [0, 1, c], 'view');
    s = b.conv1d(s, 'conv', { outChannels: 1, kernel: k, padding: (k - 1) / 2 });
    s = b.sigmoid(s, 'gate');
    s = b.reshape(s, [0, c, 1, 1], 'flat');
    return b.mul(x, s, 'scale');
  });
}
