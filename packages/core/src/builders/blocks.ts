import type { BlockArgs, BlockName } from '../config/resnet.js';
import { ConfigError } from '../errors.js';
import type { GraphBuilder, SymbolicTensor } from '../ir/builder.js';
import { ecaModule, selectiveKernel, seModule, splitAttn } from '../layers/attention.js';
import { convNormAct, type DropBlockSpec, getPadding } from '../layers/common.js';
import { aaLayer } from './aa.js';

/** Builds the shortcut of a block from the block's input (`<block>.downsample`). */
export type ShortcutFn = (b: GraphBuilder, x: SymbolicTensor) => SymbolicTensor;

/** timm's ResNet block arguments (camelCase), shared by every block type. */
/** What a block is built with: its place in the network, and timm's `block_args` (BlockArgs). */
export interface BlockOptions extends BlockArgs {
  inplanes: number;
  planes: number;
  stride?: number;
  downsample?: ShortcutFn;
  cardinality?: number;
  baseWidth?: number;
  reduceFirst?: number;
  dilation?: number;
  firstDilation?: number;
  /** Cardinal extension: every conv of the block carries a bias (the from-scratch ResNeXt). */
  convBias?: boolean;
  isFirst?: boolean;
  /** Anti-aliasing for the strided 3x3 conv (the model's aa_layer). */
  aaLayer?: 'avg' | 'blur' | undefined;
  /** Stochastic depth of this block's branch (training only; timm's linear rule by block). */
  dropPathRate?: number | undefined;
  /** DropBlock of this block's stage (training only; timm's drop_blocks: stages 3 and 4). */
  dropBlock?: DropBlockSpec | undefined;
}

/** timm's drop_block after a block's norm: nothing unless the stage has one. */
function dropBlock(b: GraphBuilder, x: SymbolicTensor, o: BlockOptions): SymbolicTensor {
  return o.dropBlock ? b.dropBlock(x, o.dropBlock, 'drop_block') : x;
}

export type BlockFn = (b: GraphBuilder, x: SymbolicTensor, o: BlockOptions) => SymbolicTensor;

export interface BlockType {
  fn: BlockFn;
  expansion: number;
}

/** The block's attention (`se`): timm's create_attn for 'se', 'eca' or a partial with arguments. */
function attention(b: GraphBuilder, x: SymbolicTensor, o: BlockOptions, channels: number): SymbolicTensor {
  const a = o.attnLayer;
  if (!a) return x;
  const kind = typeof a === 'string' ? a : a.partial;
  const args: { rdRatio?: number; rdDivisor?: number; kernelSize?: number } = typeof a === 'string' ? {} : a;
  if (kind === 'se' || kind === 'SEModule')
    return seModule(b, x, 'se', {
      channels,
      ...(args.rdRatio !== undefined ? { rdRatio: args.rdRatio } : {}),
      ...(args.rdDivisor !== undefined ? { rdDivisor: args.rdDivisor } : {}),
    });
  return ecaModule(b, x, 'se', {
    channels,
    ...(args.kernelSize !== undefined ? { kernelSize: args.kernelSize } : {}),
  });
}

/**
 * timm's use_aa: anti-aliasing replaces the stride of a downsampling 3x3 conv (or follows a
 * dilation change) with the aa layer after its ReLU.
 */
function useAa(o: BlockOptions, firstDilation: number): boolean {
  return o.aaLayer !== undefined && ((o.stride ?? 1) === 2 || firstDilation !== (o.dilation ?? 1));
}

function noAa(b: GraphBuilder, o: BlockOptions, block: string): void {
  if (o.aaLayer) throw new ConfigError(`${b.path()}: ${block} takes no aa_layer (timm's has none)`);
}

function residual(
  b: GraphBuilder,
  x: SymbolicTensor,
  input: SymbolicTensor,
  o: BlockOptions,
  act: string,
): SymbolicTensor {
  if (o.dropPathRate) x = b.dropPath(x, o.dropPathRate, 'drop_path');
  const shortcut = o.downsample ? b.scope('downsample', () => o.downsample!(b, input)) : input;
  return b.relu(b.add(x, shortcut, 'add'), act);
}

/**
 * Two 3x3 convs (conv1 strided, conv2 `groups`-grouped), each with BatchNorm, attention, then
 * the residual: the body BasicBlock and ResNeXtBasicBlock share.
 */
function twoConvBlock(
  b: GraphBuilder,
  input: SymbolicTensor,
  o: BlockOptions,
  widths: { first: number; second: number; groups: number },
): SymbolicTensor {
  const dilation = o.dilation ?? 1;
  const first = o.firstDilation ?? dilation;
  const bias = o.convBias ?? false;
  const aa = useAa(o, first);
  let x = b.conv2d(input, 'conv1', {
    outChannels: widths.first,
    kernel: 3,
    stride: aa ? 1 : (o.stride ?? 1),
    padding: first,
    dilation: first,
    bias,
  });
  x = b.relu(dropBlock(b, b.norm(x, 'bn1'), o), 'act1');
  if (aa) x = aaLayer(b, x, o.aaLayer!, o.stride ?? 1, 'aa');
  x = b.conv2d(x, 'conv2', {
    outChannels: widths.second,
    kernel: 3,
    padding: dilation,
    dilation,
    groups: widths.groups,
    bias,
  });
  x = b.norm(x, 'bn2');
  x = attention(b, x, o, widths.second);
  return residual(b, x, input, o, 'act2');
}

/** timm/torchvision BasicBlock: 3x3 -> 3x3, expansion 1. */
export const basicBlock: BlockFn = (b, input, o) => {
  if ((o.cardinality ?? 1) !== 1 || (o.baseWidth ?? 64) !== 64) {
    throw new ConfigError(
      `${b.path()}: BasicBlock only supports cardinality=1 and base_width=64 (use ResNeXtBasicBlock)`,
    );
  }
  const firstPlanes = Math.floor(o.planes / (o.reduceFirst ?? 1));
  return twoConvBlock(b, input, o, { first: firstPlanes, second: o.planes, groups: 1 });
};

/** timm/torchvision Bottleneck: 1x1 -> grouped 3x3 -> 1x1, width floor(planes * base_width / 64) * cardinality. */
export const bottleneck: BlockFn = (b, input, o) => {
  const cardinality = o.cardinality ?? 1;
  const width = Math.floor(o.planes * ((o.baseWidth ?? 64) / 64)) * cardinality;
  const firstPlanes = Math.floor(width / (o.reduceFirst ?? 1));
  const out = o.planes * 4;
  const dilation = o.firstDilation ?? o.dilation ?? 1;
  const bias = o.convBias ?? false;
  const aa = useAa(o, dilation);
  let x = b.conv2d(input, 'conv1', { outChannels: firstPlanes, kernel: 1, bias });
  x = b.relu(b.norm(x, 'bn1'), 'act1');
  x = b.conv2d(x, 'conv2', {
    outChannels: width,
    kernel: 3,
    stride: aa ? 1 : (o.stride ?? 1),
    padding: dilation,
    dilation,
    groups: cardinality,
    bias,
  });
  x = b.relu(dropBlock(b, b.norm(x, 'bn2'), o), 'act2');
  if (aa) x = aaLayer(b, x, o.aaLayer!, o.stride ?? 1, 'aa');
  x = b.conv2d(x, 'conv3', { outChannels: out, kernel: 1, bias });
  x = b.norm(x, 'bn3');
  x = attention(b, x, o, out);
  return residual(b, x, input, o, 'act3');
};

/**
 * Cardinal's BasicBlock ResNeXt (resnext18/34 of the tutorials): two 3x3 convs of width
 * 2 * planes, the second grouped, expansion 2. The tutorial's shortcut kept `planes`
 * channels and cannot be added to a 2 * planes branch; here the shortcut projects to
 * 2 * planes whenever the widths differ.
 */
export const resnextBasicBlock: BlockFn = (b, input, o) =>
  twoConvBlock(b, input, o, { first: o.planes * 2, second: o.planes * 2, groups: o.cardinality ?? 32 });

/** timm SelectiveKernelBasic: SelectiveKernel(conv1) -> ConvNormAct 3x3 (conv2), expansion 1. */
export const selectiveKernelBasic: BlockFn = (b, input, o) => {
  noAa(b, o, 'SelectiveKernelBasic');
  if ((o.cardinality ?? 1) !== 1 || (o.baseWidth ?? 64) !== 64) {
    throw new ConfigError(`${b.path()}: SelectiveKernelBasic only supports cardinality=1 and base_width=64`);
  }
  const firstPlanes = Math.floor(o.planes / (o.reduceFirst ?? 1));
  const dilation = o.dilation ?? 1;
  let x = selectiveKernel(b, input, 'conv1', {
    ...o.skKwargs,
    inChannels: o.inplanes,
    outChannels: firstPlanes,
    stride: o.stride ?? 1,
    dilation: o.firstDilation ?? dilation,
    drop: o.dropBlock,
  });
  x = convNormAct(b, x, 'conv2', { outChannels: o.planes, kernel: 3, dilation, act: false });
  x = attention(b, x, o, o.planes);
  return residual(b, x, input, o, 'act');
};

/** timm SelectiveKernelBottleneck: ConvNormAct 1x1 -> grouped SelectiveKernel -> ConvNormAct 1x1, expansion 4. */
export const selectiveKernelBottleneck: BlockFn = (b, input, o) => {
  noAa(b, o, 'SelectiveKernelBottleneck');
  const cardinality = o.cardinality ?? 1;
  const width = Math.floor(o.planes * ((o.baseWidth ?? 64) / 64)) * cardinality;
  const firstPlanes = Math.floor(width / (o.reduceFirst ?? 1));
  const out = o.planes * 4;
  let x = convNormAct(b, input, 'conv1', { outChannels: firstPlanes, kernel: 1 });
  x = selectiveKernel(b, x, 'conv2', {
    ...o.skKwargs,
    inChannels: firstPlanes,
    outChannels: width,
    stride: o.stride ?? 1,
    dilation: o.firstDilation ?? o.dilation ?? 1,
    groups: cardinality,
    drop: o.dropBlock,
  });
  x = convNormAct(b, x, 'conv3', { outChannels: out, kernel: 1, act: false });
  x = attention(b, x, o, out);
  return residual(b, x, input, o, 'act');
};

/**
 * timm ResNestBottleneck: 1x1 -> SplitAttn 3x3 -> 1x1, with the stride moved into a 3x3
 * average pool (avd) before or after the split-attention conv.
 */
export const resnestBottleneck: BlockFn = (b, input, o) => {
  if ((o.reduceFirst ?? 1) !== 1)
    throw new ConfigError(`${b.path()}: ResNestBottleneck requires reduce_first=1`);
  if (o.attnLayer) throw new ConfigError(`${b.path()}: ResNestBottleneck takes no attn_layer`);
  noAa(b, o, 'ResNestBottleneck');
  const cardinality = o.cardinality ?? 1;
  const groupWidth = Math.floor(o.planes * ((o.baseWidth ?? 64) / 64)) * cardinality;
  const firstDilation = o.firstDilation ?? o.dilation ?? 1;
  let stride = o.stride ?? 1;
  let avdStride = 0;
  if (o.avd && (stride > 1 || o.isFirst)) {
    avdStride = stride;
    stride = 1;
  }
  const radix = o.radix ?? 1;
  const bias = o.convBias ?? false;
  let x = b.conv2d(input, 'conv1', { outChannels: groupWidth, kernel: 1, bias });
  x = b.relu(b.norm(x, 'bn1'), 'act1');
  if (avdStride > 0 && o.avdFirst)
    x = b.avgPool(x, { kernel: 3, stride: avdStride, padding: 1 }, 'avd_first');
  if (radix >= 1) {
    x = splitAttn(b, x, 'conv2', {
      inChannels: groupWidth,
      outChannels: groupWidth,
      kernelSize: 3,
      stride,
      padding: firstDilation,
      dilation: firstDilation,
      groups: cardinality,
      radix,
      bias,
      drop: o.dropBlock,
    });
  } else {
    x = b.conv2d(x, 'conv2', {
      outChannels: groupWidth,
      kernel: 3,
      stride,
      padding: firstDilation,
      dilation: firstDilation,
      groups: cardinality,
      bias,
    });
    x = b.relu(dropBlock(b, b.norm(x, 'bn2'), o), 'act2');
  }
  if (avdStride > 0 && !o.avdFirst)
    x = b.avgPool(x, { kernel: 3, stride: avdStride, padding: 1 }, 'avd_last');
  x = b.conv2d(x, 'conv3', { outChannels: o.planes * 4, kernel: 1, bias });
  x = b.norm(x, 'bn3');
  return residual(b, x, input, o, 'act3');
};

/** Block types by timm class name (plus Cardinal's ResNeXtBasicBlock). */
export const BLOCK_TYPES = {
  BasicBlock: { fn: basicBlock, expansion: 1 },
  Bottleneck: { fn: bottleneck, expansion: 4 },
  ResNeXtBasicBlock: { fn: resnextBasicBlock, expansion: 2 },
  SelectiveKernelBasic: { fn: selectiveKernelBasic, expansion: 1 },
  SelectiveKernelBottleneck: { fn: selectiveKernelBottleneck, expansion: 4 },
  ResNestBottleneck: { fn: resnestBottleneck, expansion: 4 },
} as const satisfies Record<BlockName, BlockType>;

export type { BlockName };

export interface DownsampleOptions {
  inChannels: number;
  outChannels: number;
  kernelSize?: number;
  stride?: number;
  dilation?: number;
  firstDilation?: number;
  convBias?: boolean;
}

/** timm downsample_conv: conv (1x1 unless strided with down_kernel_size > 1) -> bn, as `0`, `1`. */
export function downsampleConv(o: DownsampleOptions): ShortcutFn {
  return (b, x) => {
    const stride = o.stride ?? 1;
    const dilation = o.dilation ?? 1;
    const k = stride === 1 && dilation === 1 ? 1 : (o.kernelSize ?? 1);
    const fd = k > 1 ? (o.firstDilation ?? dilation) : 1;
    const y = b.conv2d(x, '0', {
      outChannels: o.outChannels,
      kernel: k,
      stride,
      padding: getPadding(k, stride, fd),
      dilation: fd,
      bias: o.convBias ?? false,
    });
    return b.norm(y, '1');
  };
}

/**
 * timm downsample_avg: 2x2 average pool (ceil mode, padding not counted) -> 1x1 conv -> bn,
 * as `0` (pool, no parameters), `1`, `2`. Dilated stages pool with stride 1 and 'same' padding.
 */
export function downsampleAvg(o: DownsampleOptions): ShortcutFn {
  return (b, x) => {
    const stride = o.stride ?? 1;
    const dilation = o.dilation ?? 1;
    const avgStride = dilation === 1 ? stride : 1;
    let y = x;
    if (stride !== 1 || dilation !== 1) {
      y =
        avgStride === 1 && dilation > 1
          ? b.avgPool(
              x,
              { kernel: 2, stride: 1, padding: [0, 0, 1, 1], ceilMode: true, countIncludePad: true },
              '0',
            )
          : b.avgPool(x, { kernel: 2, stride: avgStride, ceilMode: true, countIncludePad: false }, '0');
    }
    y = b.conv2d(y, '1', { outChannels: o.outChannels, kernel: 1, bias: o.convBias ?? false });
    return b.norm(y, '2');
  };
}
