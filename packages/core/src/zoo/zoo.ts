import { type BuildOptions, buildResNet, type FeatureInfo, type ResNetConfig } from '../builders/resnet.js';
import { UnknownModelError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { TIMM_ENTRYPOINTS } from './timm-entrypoints.js';

export interface ZooEntry {
  name: string;
  /** timm's family by name prefix (resnet, resnext, seresnext, ecaresnet, resnetrs, resnest, ...). */
  family: string;
  /** Where the architecture comes from. */
  source: string;
  config: ResNetConfig;
  /** The input the model is made for, [channels, height, width]; [inChans, 224, 224] when absent. */
  input?: readonly [number, number, number];
  /** Trained weights that ship with Cardinal (in @cardinal/pretrained's weights folder). */
  weights?: ShippedWeights;
}

/** A zoo entry's own weights: the file, the data they were trained on, and their score there. */
export interface ShippedWeights {
  /** File name in @cardinal/pretrained's `weights/` folder (safetensors, PyTorch names). */
  file: string;
  /** The data set, as `cardinal eval --data` names it. */
  dataset: string;
  /** Top-1 accuracy on the data set's test split, as `cardinal eval` measured it. */
  top1: number;
}

const R50 = [3, 4, 6, 3];
/** fashion_resnext's test top-1, measured by `cardinal eval fashion_resnext --data fashion-mnist`. */
const FASHION_TOP1 = 0.9315;

/** timm's entrypoints as zoo entries: their names and their exact architectures. */
const TIMM_ZOO: ZooEntry[] = TIMM_ENTRYPOINTS.map((e) => ({
  name: e.name,
  family: e.family,
  source: `timm/models/${e.file} ${e.name}`,
  config: e.config,
}));

/** The model zoo: every ResNet-family entrypoint of timm by its name, plus Cardinal's own variants. */
export const ZOO: readonly ZooEntry[] = [
  ...TIMM_ZOO,
  {
    name: 'resnext50_bias',
    family: 'resnext',
    source: 'ResNeXt-50 (32x4d) written from scratch as in the tutorials: every convolution carries a bias',
    config: { block: 'Bottleneck', layers: R50, cardinality: 32, baseWidth: 4, convBias: true },
  },
  {
    name: 'resnext18',
    family: 'resnext',
    source:
      'BasicBlock ResNeXt of the tutorials (two 3x3 convs of width 2*planes, the second grouped 32), shortcut fixed to 2*planes',
    config: { block: 'ResNeXtBasicBlock', layers: [2, 2, 2, 2], cardinality: 32 },
  },
  {
    name: 'resnext34',
    family: 'resnext',
    source:
      'BasicBlock ResNeXt of the tutorials (two 3x3 convs of width 2*planes, the second grouped 32), shortcut fixed to 2*planes',
    config: { block: 'ResNeXtBasicBlock', layers: R50, cardinality: 32 },
  },
  {
    name: 'fashion_resnext',
    family: 'resnext',
    source:
      'Cardinal: a ResNeXt for 28x28 grayscale (deep stem of width 16, three one-block stages of 24/48/96 planes, 4x16d), trained on Fashion-MNIST by cardinal train',
    config: {
      block: 'Bottleneck',
      layers: [1, 1, 1],
      channels: [24, 48, 96],
      cardinality: 4,
      baseWidth: 16,
      stemType: 'deep',
      stemWidth: 16,
      inChans: 1,
      numClasses: 10,
    },
    input: [1, 28, 28],
    weights: { file: 'fashion_resnext.safetensors', dataset: 'fashion-mnist', top1: FASHION_TOP1 },
  },
];

export function zooNames(): string[] {
  return ZOO.map((e) => e.name);
}

/** Levenshtein distance, for "did you mean" on a mistyped name. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The zoo names closest to a mistyped one: few edits away, or one that contains it. */
export function similarZooNames(name: string, max = 3): string[] {
  const lower = name.toLowerCase().slice(0, 64);
  return ZOO.map((z) => ({ name: z.name, d: editDistance(lower, z.name) }))
    .filter(
      (c) =>
        c.d <= Math.max(3, Math.floor(c.name.length / 3)) || (lower.length >= 4 && c.name.includes(lower)),
    )
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((c) => c.name);
}

export function getZooEntry(name: string): ZooEntry {
  const e = ZOO.find((z) => z.name === name);
  if (!e) {
    const close = similarZooNames(name);
    const hint = close.length
      ? `; did you mean ${close.join(', ')}?`
      : `; run 'cardinal models' for the list`;
    const shown = name.length > 64 ? `${name.slice(0, 64)}...` : name;
    throw new UnknownModelError(`unknown model '${shown}'${hint}`);
  }
  return e;
}

/** Builds a zoo model by name. `numClasses` and `inChans` may be overridden. */
export function createModel(
  name: string,
  options: BuildOptions & Pick<ResNetConfig, 'numClasses' | 'inChans'> = {},
): Graph {
  return buildZooModel(name, options).graph;
}

/** `createModel` with the feature maps' timm `feature_info`. */
export function buildZooModel(
  name: string,
  options: BuildOptions & Pick<ResNetConfig, 'numClasses' | 'inChans'> = {},
): { graph: Graph; featureInfo: FeatureInfo[] } {
  const e = getZooEntry(name);
  const config = { ...e.config };
  if (options.numClasses !== undefined) config.numClasses = options.numClasses;
  if (options.inChans !== undefined) config.inChans = options.inChans;
  const inputShape = options.inputShape ?? (e.input ? [1, ...e.input] : undefined);
  return buildResNet(config, {
    ...options,
    ...(inputShape ? { inputShape } : {}),
    name: options.name ?? name,
  });
}
