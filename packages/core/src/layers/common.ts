import type { GraphBuilder, SymbolicTensor } from '../ir/builder.js';

/** timm's get_padding: symmetric padding that keeps 'same' size at stride 1. */
export function getPadding(kernel: number, stride = 1, dilation = 1): number {
  return Math.floor((stride - 1 + dilation * (kernel - 1)) / 2);
}

/** timm's make_divisible: round to a multiple of divisor, never below round_limit * v. */
export function makeDivisible(v: number, divisor = 8, minValue?: number, roundLimit = 0.9): number {
  const min = minValue ?? divisor;
  let out = Math.max(min, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < roundLimit * v) out += divisor;
  return out;
}

/** timm's DropBlock2d settings for one stage (training only). */
export interface DropBlockSpec {
  rate: number;
  blockSize: number;
  gammaScale: number;
}

export interface ConvNormActOptions {
  outChannels: number;
  kernel: number;
  stride?: number;
  dilation?: number;
  groups?: number;
  act?: boolean;
  bias?: boolean;
  /** DropBlock after the norm (timm's drop_layer, at `<module>.bn.drop`). */
  drop?: DropBlockSpec | undefined;
}

/**
 * timm's ConvNormAct: `<module>.conv` then `<module>.bn` (a BatchNormAct2d whose ReLU lives at
 * `<module>.bn.act`), padding from get_padding.
 */
export function convNormAct(
  b: GraphBuilder,
  x: SymbolicTensor,
  module: string | number,
  o: ConvNormActOptions,
): SymbolicTensor {
  return b.scope(module, () => {
    const stride = o.stride ?? 1;
    const dilation = o.dilation ?? 1;
    let y = b.conv2d(x, 'conv', {
      outChannels: o.outChannels,
      kernel: o.kernel,
      stride,
      dilation,
      groups: o.groups ?? 1,
      padding: getPadding(o.kernel, stride, dilation),
      bias: o.bias ?? false,
    });
    y = b.norm(y, 'bn');
    if (o.drop) y = b.scope('bn', () => b.dropBlock(y, o.drop!, 'drop'));
    return o.act === false ? y : b.scope('bn', () => b.relu(y, 'act'));
  });
}
