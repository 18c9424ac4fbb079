import {
  type ResNetConfig,
  type ResolvedConfig,
  resolveResNetConfig,
  type StemType,
  stageBlocks,
} from '../config/resnet.js';
import type { CostLimits } from '../cost.js';
import { ConfigError } from '../errors.js';
import { GraphBuilder, type SymbolicTensor } from '../ir/builder.js';
import type { Graph } from '../ir/graph.js';
import { aaLayer } from './aa.js';
import { BLOCK_TYPES, downsampleAvg, downsampleConv, type ShortcutFn } from './blocks.js';

export type { ResNetConfig, StemType };

export interface BuildOptions {
  /** Input shape [N, C, H, W]; default [1, inChans, 224, 224]. */
  inputShape?: readonly number[];
  name?: string;
  /** Cost bounds checked while building (DEFAULT_COST_LIMITS when omitted). */
  limits?: Partial<CostLimits>;
  /**
   * Build a feature extractor, as timm's `features_only=True`: the graph's outputs are the maps
   * at `outIndices` (0 = the stem's act1 at reduction 2, 1..N = layer1..layerN), no head. The
   * config's `output_stride` trades the last strides for dilation.
   */
  features?: FeatureOptions;
}

/** Which feature maps a graph returns (timm's out_indices), and whether the logits follow them. */
export interface FeatureOptions {
  /** 0 = act1 (reduction 2), 1..N = layer1..layerN; default all. */
  outIndices?: readonly number[];
  /** Also return the classifier's output, after the maps (timm's forward_intermediates). */
  head?: boolean;
}

/** One feature map as timm's `feature_info` reports it. */
export interface FeatureInfo {
  module: string;
  numChs: number;
  reduction: number;
}

/** The anti-aliasing layer a config names, as one of two kinds (timm accepts both spellings). */
export function aaKind(aa: ResolvedConfig['aaLayer']): 'avg' | 'blur' | undefined {
  if (!aa) return undefined;
  return aa.toLowerCase().startsWith('avg') ? 'avg' : 'blur';
}

/**
 * The stem: 7x7 conv, or the deep 3x3 x3 stem (`conv1.0` .. `conv1.6`), norm, ReLU, then max
 * pool (with anti-aliasing: max pool at stride 1 + BlurPool, or AvgPool2d(2)), or
 * replace_stem_pool's 3x3 stride-2 conv-norm-ReLU; or the `cifar` stem for small images: one
 * 3x3 stride-1 conv, norm, ReLU, no pooling.
 */
function stem(
  b: GraphBuilder,
  x: SymbolicTensor,
  c: ResolvedConfig,
): { x: SymbolicTensor; act1: SymbolicTensor; channels: number; stride: number } {
  if (c.stemType === 'cifar') {
    const y = b.conv2d(x, 'conv1', { outChannels: c.stemWidth, kernel: 3, padding: 1, bias: c.convBias });
    const act1 = b.relu(b.norm(y, 'bn1'), 'act1');
    return { x: act1, act1, channels: c.stemWidth, stride: 1 };
  }
  const deep = c.stemType.includes('deep');
  const inplanes = deep ? c.stemWidth * 2 : 64;
  const bias = c.convBias;
  if (deep) {
    const chs = c.stemType.includes('tiered')
      ? [3 * Math.floor(c.stemWidth / 4), c.stemWidth]
      : [c.stemWidth, c.stemWidth];
    x = b.scope('conv1', () => {
      let y = b.conv2d(x, 0, { outChannels: chs[0]!, kernel: 3, stride: 2, padding: 1, bias });
      y = b.relu(b.norm(y, 1), '2');
      y = b.conv2d(y, 3, { outChannels: chs[1]!, kernel: 3, padding: 1, bias });
      y = b.relu(b.norm(y, 4), '5');
      return b.conv2d(y, 6, { outChannels: inplanes, kernel: 3, padding: 1, bias });
    });
  } else {
    x = b.conv2d(x, 'conv1', { outChannels: inplanes, kernel: 7, stride: 2, padding: 3, bias });
  }
  const act1 = b.relu(b.norm(x, 'bn1'), 'act1');
  const aa = aaKind(c.aaLayer);
  if (c.replaceStemPool) {
    x = b.scope('maxpool', () => {
      let y = b.conv2d(act1, 0, { outChannels: inplanes, kernel: 3, stride: aa ? 1 : 2, padding: 1, bias });
      // The anti-aliasing layer sits at index 1 when present (timm filters out the None).
      let i = 1;
      if (aa) y = aaLayer(b, y, aa, 2, i++);
      y = b.norm(y, i++);
      return b.relu(y, String(i));
    });
  } else if (aa === 'avg') {
    x = b.avgPool(act1, { kernel: 2, stride: 2 }, 'maxpool');
  } else if (aa === 'blur') {
    x = b.scope('maxpool', () =>
      aaLayer(b, b.maxPool(act1, { kernel: 3, stride: 1, padding: 1 }, '0'), aa, 2, 1),
    );
  } else {
    x = b.maxPool(act1, { kernel: 3, stride: 2, padding: 1 }, 'maxpool');
  }
  return { x, act1, channels: inplanes, stride: 4 };
}

/**
 * timm's `ResNet(block, layers, ...)` as a Cardinal graph: stem, `layer1..N` of blocks
 * (stride 2 from the second stage, dilation instead once output_stride is reached), global
 * average pool and `fc`; or, with `features`, the chosen feature maps. Parameter names are
 * timm's state_dict keys.
 */
export function resnet(config: ResNetConfig, options: BuildOptions = {}): Graph {
  return buildResNet(config, options).graph;
}

/** `resnet()` with the feature maps' timm `feature_info` (every map, whether chosen or not). */
export function buildResNet(
  config: ResNetConfig,
  options: BuildOptions = {},
): { graph: Graph; featureInfo: FeatureInfo[] } {
  const c = resolveResNetConfig(config);
  const blocks = stageBlocks(c.block, c.layers.length).map((n) => BLOCK_TYPES[n]);
  const inputShape = options.inputShape ?? [1, c.inChans, 224, 224];
  if (inputShape.length !== 4 || inputShape[1] !== c.inChans) {
    throw new ConfigError(
      `input shape must be [N, ${c.inChans}, H, W] for in_chans=${c.inChans}, got [${inputShape.join(', ')}]`,
    );
  }
  const maps = c.layers.length + 1;
  const outIndices = options.features?.outIndices ?? (options.features ? range(maps) : undefined);
  for (const i of outIndices ?? [])
    if (!Number.isInteger(i) || i < 0 || i >= maps)
      throw new ConfigError(
        `features: out index ${i} is outside this model's maps 0..${maps - 1} (0 = act1, ${maps - 1} = layer${maps - 1})`,
      );
  const b = new GraphBuilder(options.name ?? 'resnet', options.limits);
  if (c.normLayer.toLowerCase() === 'groupnorm') b.normLayer = { kind: 'groupnorm', groups: 32 };
  b.convWidths = c.convWidths;
  const s = stem(b, b.input('input', inputShape), c);
  let { x, channels: inplanes } = s;
  const features: SymbolicTensor[] = [s.act1];
  const featureInfo: FeatureInfo[] = [
    { module: 'act1', numChs: s.channels, reduction: c.stemType === 'cifar' ? 1 : 2 },
  ];

  const aa = aaKind(c.aaLayer);
  // timm's stochastic depth rises linearly over all blocks; DropBlock sits in stages 3 and 4.
  const netBlocks = c.layers.reduce((a, n) => a + n, 0);
  let blockIdx = 0;
  const dropBlocks = [
    undefined,
    undefined,
    { blockSize: 5, gammaScale: 0.25 },
    { blockSize: 3, gammaScale: 1 },
  ];
  let netStride = s.stride;
  let dilation = 1;
  let prevDilation = 1;
  c.layers.forEach((numBlocks, stageIdx) => {
    const block = blocks[stageIdx]!;
    const planes = c.channels[stageIdx]!;
    let stride = stageIdx === 0 ? 1 : 2;
    if (netStride >= c.outputStride) {
      dilation *= stride;
      stride = 1;
    } else {
      netStride *= stride;
    }
    const outChannels = planes * block.expansion;
    let downsample: ShortcutFn | undefined;
    if (stride !== 1 || inplanes !== outChannels) {
      const opts = {
        inChannels: inplanes,
        outChannels,
        kernelSize: c.downKernelSize,
        stride,
        dilation,
        firstDilation: prevDilation,
        convBias: c.convBias,
      };
      downsample = c.avgDown ? downsampleAvg(opts) : downsampleConv(opts);
    }
    const db = c.dropBlockRate > 0 ? dropBlocks[stageIdx] : undefined;
    x = b.scope(`layer${stageIdx + 1}`, () => {
      let y = x;
      for (let i = 0; i < numBlocks; i++) {
        const dpr = netBlocks > 1 ? (c.dropPathRate * blockIdx) / (netBlocks - 1) : 0;
        blockIdx++;
        y = b.scope(i, () =>
          block.fn(b, y, {
            ...c.blockArgs,
            inplanes,
            planes,
            stride: i === 0 ? stride : 1,
            downsample: i === 0 ? downsample : undefined,
            cardinality: c.cardinality,
            baseWidth: c.baseWidth,
            reduceFirst: c.blockReduceFirst,
            dilation,
            firstDilation: prevDilation,
            convBias: c.convBias,
            aaLayer: aa,
            dropPathRate: dpr > 0 ? dpr : undefined,
            dropBlock: db ? { rate: c.dropBlockRate, ...db } : undefined,
          }),
        );
        prevDilation = dilation;
        inplanes = outChannels;
      }
      return y;
    });
    features.push(x);
    featureInfo.push({ module: `layer${stageIdx + 1}`, numChs: outChannels, reduction: netStride });
  });

  if (outIndices) for (const i of outIndices) b.output(features[i]!);
  if (!outIndices || options.features?.head) {
    x = b.globalAvgPool(x, 'global_pool');
    x = b.flatten(x, 1, 'flatten');
    if (c.numClasses > 0) x = b.linear(x, 'fc', c.numClasses);
    b.output(x);
  }
  const graph = b.build();
  if (c.zeroInitLast) zeroInitLastNorms(graph);
  return { graph, featureInfo };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** timm's zero_init_last: the last BatchNorm weight of every residual branch starts at 0. */
function zeroInitLastNorms(graph: Graph): void {
  const last = /^layer\d+\.\d+\.(bn3|bn2|conv2\.bn|conv3\.bn)\.weight$/;
  const perBlock = new Map<string, string>();
  for (const key of Object.keys(graph.params)) {
    const m = last.exec(key);
    if (!m) continue;
    const blockPath = key.slice(0, key.indexOf(m[1]!) - 1);
    const prev = perBlock.get(blockPath);
    // bn3 wins over bn2 in bottlenecks; conv3.bn over conv2.bn in SK bottlenecks.
    if (!prev || key > prev) perBlock.set(blockPath, key);
  }
  for (const key of perBlock.values())
    graph.params[key] = { ...graph.params[key]!, init: { kind: 'constant', value: 0 } };
}
