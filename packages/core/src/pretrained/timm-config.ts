import { z } from 'zod';
import { type BuildOptions, buildResNet, type FeatureInfo } from '../builders/resnet.js';
import { CONFIG_LIMITS as L, parseWith } from '../config/parse.js';
import { parseResNetConfig, type ResolvedConfig, resnetConfigToJson } from '../config/resnet.js';
import { ConfigError, printable } from '../errors.js';
import { defaultPreprocess, IMAGENET_DEFAULTS, type PreprocessConfig } from '../image/preprocess.js';
import type { Graph } from '../ir/graph.js';
import { getZooEntry, ZOO } from '../zoo/zoo.js';

const posInt = z.number().int().positive();
const interpolation = z.enum(['bilinear', 'bicubic', 'nearest']);

/**
 * timm's `pretrained_cfg`, the part that decides evaluation: the transform and the class count.
 * timm writes more (first_conv, classifier, license, ...); those keys are kept, not read.
 */
const pretrainedCfgSchema = z.looseObject({
  input_size: z.tuple([posInt.max(L.inChans), posInt.max(65_536), posInt.max(65_536)]).optional(),
  interpolation: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && !interpolation.safeParse(v).success)
        ctx.addIssue({
          code: 'custom',
          message: `interpolation '${printable(v.slice(0, 40))}' is not supported (bilinear, bicubic, nearest)`,
        });
    }),
  crop_pct: z.number().positive().max(1).optional(),
  crop_mode: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === 'center', {
      message: "only crop_mode 'center' is supported (timm's evaluation default)",
    }),
  mean: z.array(z.number().finite()).min(1).max(L.inChans).optional(),
  std: z.array(z.number().finite().positive()).min(1).max(L.inChans).optional(),
  num_classes: z.number().int().nonnegative().max(L.classes).optional(),
  tag: z.string().max(256).optional(),
});

/** The config.json of a timm model folder (Hugging Face layout), as timm's loader reads it. */
const timmConfigSchema = z.looseObject({
  architecture: z.string().min(1).max(256),
  num_classes: z.number().int().nonnegative().max(L.classes).optional(),
  pretrained_cfg: pretrainedCfgSchema.optional(),
  model_args: z.record(z.string(), z.unknown()).optional(),
  label_names: z.array(z.string().max(1024)).max(L.classes).optional(),
});

export type TimmConfigJson = z.input<typeof timmConfigSchema>;

/** A model folder's config, resolved: what to build, how to feed it, what its classes are called. */
export interface PretrainedConfig {
  /** The zoo architecture (timm's name without its `.tag`). */
  architecture: string;
  /** The pretrained tag after the dot (`fb_in1k`), when the name had one. */
  tag?: string;
  /** The full ResNet configuration: the zoo entry with `model_args` over it. */
  resnet: ResolvedConfig;
  /** The arguments over the zoo entry (timm's model_args), as the file had them. */
  modelArgs: Record<string, unknown>;
  numClasses: number;
  /** The evaluation transform: pretrained_cfg, ImageNet's defaults where it is silent. */
  preprocess: PreprocessConfig;
  labelNames?: string[];
}

/** timm's ResNet arguments Cardinal builds from; a model_args key outside them is refused. */
function checkModelArgs(args: Record<string, unknown>, source: string): void {
  for (const key of ['block', 'num_classes'])
    if (key in args)
      throw new ConfigError(
        `${source}: model_args.${key} is not allowed (the architecture gives the block, num_classes is its own key)`,
      );
}

/**
 * Reads a timm config.json (`architecture`, `num_classes`, `pretrained_cfg`, `model_args`,
 * `label_names`) for a zoo architecture. Every value is checked; the message names the key.
 */
export function parsePretrainedConfig(value: unknown, source = 'config.json'): PretrainedConfig {
  const j = parseWith(timmConfigSchema, value, source);
  const [architecture, tag] = splitTag(j.architecture);
  const entry = getZooEntry(architecture);
  const cfg = j.pretrained_cfg ?? {};
  const modelArgs = j.model_args ?? {};
  checkModelArgs(modelArgs, `${source}`);
  const numClasses = j.num_classes ?? cfg.num_classes ?? 1000;
  const merged = { ...resnetConfigToJson(entry.config), ...modelArgs, num_classes: numClasses };
  const resnetConfig = parseResNetConfig(merged, `${source}: model_args`);
  const inChans = resnetConfig.inChans;
  if (cfg.input_size && cfg.input_size[0] !== inChans)
    throw new ConfigError(
      `${source}: pretrained_cfg.input_size has ${cfg.input_size[0]} channels, the model takes ${inChans}`,
    );
  if (inChans !== 1 && inChans !== 3)
    throw new ConfigError(`${source}: images have 1 or 3 channels, the model takes ${inChans}`);
  const defaults = defaultPreprocess(inChans as 1 | 3, IMAGENET_DEFAULTS.inputSize);
  const mean = cfg.mean ?? defaults.mean;
  const std = cfg.std ?? defaults.std;
  for (const [key, v] of [
    ['mean', mean],
    ['std', std],
  ] as const)
    if (v.length !== inChans)
      throw new ConfigError(
        `${source}: pretrained_cfg.${key} has ${v.length} values for ${inChans} channels`,
      );
  if (j.label_names && j.label_names.length !== numClasses)
    throw new ConfigError(
      `${source}: label_names has ${j.label_names.length} names for ${numClasses} classes`,
    );
  return {
    architecture,
    ...(tag ? { tag } : {}),
    resnet: resnetConfig,
    modelArgs,
    numClasses,
    preprocess: {
      inputSize: cfg.input_size ? [cfg.input_size[1], cfg.input_size[2]] : IMAGENET_DEFAULTS.inputSize,
      interpolation: (cfg.interpolation as PreprocessConfig['interpolation'] | undefined) ?? 'bilinear',
      cropPct: cfg.crop_pct ?? IMAGENET_DEFAULTS.cropPct,
      mean,
      std,
      channels: inChans as 1 | 3,
    },
    ...(j.label_names ? { labelNames: j.label_names } : {}),
  };
}

/** `resnext50_32x4d.fb_in1k` -> [`resnext50_32x4d`, `fb_in1k`]. */
function splitTag(name: string): [string, string | undefined] {
  const dot = name.indexOf('.');
  return dot < 0 ? [name, undefined] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** Builds the graph a model folder's config describes (input [1, C, H, W] from pretrained_cfg by default). */
export function buildPretrained(config: PretrainedConfig, options: BuildOptions = {}): Graph {
  return buildPretrainedModel(config, options).graph;
}

/** `buildPretrained` with the feature maps' timm `feature_info`. */
export function buildPretrainedModel(
  config: PretrainedConfig,
  options: BuildOptions = {},
): { graph: Graph; featureInfo: FeatureInfo[] } {
  const [h, w] = config.preprocess.inputSize;
  return buildResNet(config.resnet, {
    ...options,
    name: options.name ?? config.architecture,
    inputShape: options.inputShape ?? [1, config.resnet.inChans, h, w],
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The timm architecture and model_args that describe a ResNet config: the zoo entry with the
 * same block and the fewest differing arguments (none for a zoo model), and those arguments.
 */
export function describeAsTimm(config: ResolvedConfig): {
  architecture: string;
  modelArgs: Record<string, unknown>;
} {
  if (config.stemType === 'cifar')
    throw new ConfigError(
      "stem_type 'cifar' is Cardinal's own: timm has no such stem, so no timm folder can hold this model",
    );
  const target = resnetConfigToJson(config) as Record<string, unknown>;
  let best: { architecture: string; modelArgs: Record<string, unknown> } | undefined;
  for (const entry of ZOO) {
    const base = parseResNetConfig(resnetConfigToJson(entry.config), entry.name);
    if (!sameJson(base.block, config.block)) continue;
    const baseJson = resnetConfigToJson(base) as Record<string, unknown>;
    const modelArgs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(target))
      if (k !== 'num_classes' && k !== 'block' && !sameJson(v, baseJson[k])) modelArgs[k] = v;
    if (!best || Object.keys(modelArgs).length < Object.keys(best.modelArgs).length)
      best = { architecture: entry.name, modelArgs };
  }
  if (!best)
    throw new ConfigError(
      `block ${String(config.block)}: no timm architecture uses this block, so a timm folder cannot describe it`,
    );
  return best;
}

/**
 * The config.json timm writes for a model (`save_for_hf`): architecture, num_classes,
 * num_features, global_pool, pretrained_cfg and, when present, label_names and model_args;
 * timm's `create_model('hf-hub:...')` and Cardinal read it back to the same model.
 */
export function pretrainedConfigJson(
  config: ResolvedConfig,
  preprocess: PreprocessConfig,
  options: { labelNames?: readonly string[]; numFeatures?: number } = {},
): Record<string, unknown> {
  const { architecture, modelArgs } = describeAsTimm(config);
  const [h, w] = preprocess.inputSize;
  const out: Record<string, unknown> = {
    architecture,
    num_classes: config.numClasses,
    ...(options.numFeatures !== undefined ? { num_features: options.numFeatures } : {}),
    global_pool: 'avg',
    pretrained_cfg: {
      tag: 'cardinal',
      custom_load: false,
      input_size: [config.inChans, h, w],
      fixed_input_size: false,
      interpolation: preprocess.interpolation,
      crop_pct: preprocess.cropPct,
      crop_mode: 'center',
      mean: [...preprocess.mean],
      std: [...preprocess.std],
      num_classes: config.numClasses,
      pool_size: [Math.ceil(h / 32), Math.ceil(w / 32)],
      first_conv: config.stemType === 'deep' || config.stemType === 'deep_tiered' ? 'conv1.0' : 'conv1',
      classifier: 'fc',
    },
  };
  if (options.labelNames) out.label_names = [...options.labelNames];
  if (Object.keys(modelArgs).length) out.model_args = modelArgs;
  return out;
}
