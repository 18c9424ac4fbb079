import {
  type ResNetConfig,
  type ResolvedResNetConfig,
  resolveResNetConfig,
  type StemType,
} from '../config/resnet.js';
import type { CostLimits } from '../cost.js';
import { ConfigError } from '../errors.js';
import { GraphBuilder, type SymbolicTensor } from '../ir/builder.js';
import type { Graph } from '../ir/graph.js';
import { BLOCK_TYPES, downsampleAvg, downsampleConv, type ShortcutFn } from './blocks.js';

export type { ResNetConfig, StemType };

export interface BuildOptions {
  /** Input shape [N, C, H, W]; default [1, inChans, 224, 224]. */
  inputShape?: readonly number[];
  name?: string;
  /** Cost bounds checked while building (DEFAULT_COST_LIMITS when omitted). */
  limits?: Partial<CostLimits>;
}

/**
 * The stem: 7x7 conv, or the deep 3x3 x3 stem (`conv1.0` .. `conv1.6`), bn1, ReLU, then max
 * pool; or the `cifar` stem for small images: one 3x3 stride-1 conv, bn1, ReLU, no pooling.
 */
function stem(
  b: GraphBuilder,
  x: SymbolicTensor,
  c: ResolvedResNetConfig,
): { x: SymbolicTensor; channels: number } {
  if (c.stemType === 'cifar') {
    const y = b.conv2d(x, 'conv1', { outChannels: c.stemWidth, kernel: 3, padding: 1, bias: c.convBias });
    return { x: b.relu(b.batchNorm(y, 'bn1'), 'act1'), channels: c.stemWidth };
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
      y = b.relu(b.batchNorm(y, 1), '2');
      y = b.conv2d(y, 3, { outChannels: chs[1]!, kernel: 3, padding: 1, bias });
      y = b.relu(b.batchNorm(y, 4), '5');
      return b.conv2d(y, 6, { outChannels: inplanes, kernel: 3, padding: 1, bias });
    });
  } else {
    x = b.conv2d(x, 'conv1', { outChannels: inplanes, kernel: 7, stride: 2, padding: 3, bias });
  }
  x = b.relu(b.batchNorm(x, 'bn1'), 'act1');
  if (c.replaceStemPool) {
    x = b.scope('maxpool', () => {
      const y = b.conv2d(x, 0, { outChannels: inplanes, kernel: 3, stride: 2, padding: 1, bias });
      return b.relu(b.batchNorm(y, 1), '2');
    });
  } else {
    x = b.maxPool(x, { kernel: 3, stride: 2, padding: 1 }, 'maxpool');
  }
  return { x, channels: inplanes };
}

/**
 * timm's `ResNet(block, layers, ...)` as a Cardinal graph: stem, `layer1..N` of blocks
 * (stride 2 from the second stage, dilation instead once output_stride is reached), global
 * average pool and `fc`. Parameter names are timm's state_dict keys.
 */
export function resnet(config: ResNetConfig, options: BuildOptions = {}): Graph {
  const c = resolveResNetConfig(config);
  const block = BLOCK_TYPES[c.block];
  const inputShape = options.inputShape ?? [1, c.inChans, 224, 224];
  if (inputShape.length !== 4 || inputShape[1] !== c.inChans) {
    throw new ConfigError(
      `input shape must be [N, ${c.inChans}, H, W] for in_chans=${c.inChans}, got [${inputShape.join(', ')}]`,
    );
  }
  const b = new GraphBuilder(options.name ?? 'resnet', options.limits);
  let { x, channels: inplanes } = stem(b, b.input('input', inputShape), c);

  let netStride = 4;
  let dilation = 1;
  let prevDilation = 1;
  c.layers.forEach((numBlocks, stageIdx) => {
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
    x = b.scope(`layer${stageIdx + 1}`, () => {
      let y = x;
      for (let i = 0; i < numBlocks; i++) {
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
          }),
        );
        prevDilation = dilation;
        inplanes = outChannels;
      }
      return y;
    });
  });

  x = b.globalAvgPool(x, 'global_pool');
  x = b.flatten(x, 1, 'flatten');
  if (c.numClasses > 0) x = b.linear(x, 'fc', c.numClasses);
  b.output(x);
  const graph = b.build();
  if (c.zeroInitLast) zeroInitLastNorms(graph);
  return graph;
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
