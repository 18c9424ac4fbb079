import { z } from 'zod';
import { ConfigError } from '../errors.js';
import {
  camelCase,
  type DeepCamel,
  CONFIG_LIMITS as L,
  parseWith,
  renameKeysDeep,
  snakeKeys,
} from './parse.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** The block types, by timm's class name (plus Cardinal's ResNeXtBasicBlock). */
export const BLOCK_NAMES = [
  'BasicBlock',
  'Bottleneck',
  'ResNeXtBasicBlock',
  'SelectiveKernelBasic',
  'SelectiveKernelBottleneck',
  'ResNestBottleneck',
] as const;
export type BlockName = (typeof BLOCK_NAMES)[number];

/** timm's `sk_kwargs` (SelectiveKernel arguments). */
export const skKwargsSchema = z.strictObject({
  rd_ratio: z.number().positive().max(16).optional(),
  rd_divisor: posInt.max(L.width).optional(),
  rd_channels: posInt.max(L.channels).optional(),
  split_input: z.boolean().optional(),
  keep_3x3: z.boolean().optional(),
  kernel_size: z.union([posInt.max(L.kernel), z.array(posInt.max(L.kernel)).min(1).max(8)]).optional(),
});

/** An attention layer with arguments: timm's `partial(SEModule, rd_ratio=0.25)` (ResNet-RS) as JSON. */
export const attnPartialSchema = z.strictObject({
  partial: z.enum(['SEModule', 'se', 'EcaModule', 'eca']),
  rd_ratio: z.number().positive().max(16).optional(),
  rd_divisor: posInt.max(L.width).optional(),
  kernel_size: posInt.max(L.kernel).optional(),
});

/** timm's `block_args`: what the ResNet passes to every block. */
export const blockArgsSchema = z.strictObject({
  /** The block's attention after its last norm: SE (`se`), ECA (`eca`), or one with arguments. */
  attn_layer: z
    .union([z.enum(['se', 'eca']), attnPartialSchema])
    .nullable()
    .optional(),
  sk_kwargs: skKwargsSchema.optional(),
  radix: nonNegInt.max(L.radix).optional(),
  avd: z.boolean().optional(),
  avd_first: z.boolean().optional(),
});

/**
 * timm's `ResNet(...)` arguments, in its own names: **the one declaration of every config
 * knob** with its bound and its default (timm's). The camelCase `ResNetConfig`, the resolved
 * config the builder reads, and the JSON form all derive from it; a new knob is one line here
 * and the code in the builder that uses it.
 */
export const resnetConfigSchema = z.strictObject({
  /** The block class, or one per stage (timm's test_resnet). */
  block: z.union([z.string(), z.array(z.string()).min(1).max(L.stages)]),
  layers: z.array(posInt.max(L.blocksPerStage)).min(1).max(L.stages),
  channels: z.array(posInt.max(L.channels)).min(1).max(L.stages).default([64, 128, 256, 512]),
  num_classes: nonNegInt.max(L.classes).default(1000),
  in_chans: posInt.max(L.inChans).default(3),
  output_stride: z.union([z.literal(8), z.literal(16), z.literal(32)]).default(32),
  global_pool: z.literal('avg').default('avg'),
  cardinality: posInt.max(L.width).default(1),
  base_width: posInt.max(L.width).default(64),
  stem_width: posInt.max(L.width).default(64),
  /** timm's stems, and Cardinal's `cifar`: one 3x3 stride-1 conv of stem_width, no pooling (small images; timm has no such stem). */
  stem_type: z.enum(['', 'deep', 'deep_tiered', 'cifar']).default(''),
  replace_stem_pool: z.boolean().default(false),
  block_reduce_first: posInt.max(64).default(1),
  down_kernel_size: posInt.max(L.kernel).default(1),
  avg_down: z.boolean().default(false),
  act_layer: z.literal('relu').default('relu'),
  /** BatchNorm2d, or timm's GroupNorm (32 groups, eps 1e-5) everywhere a norm stands. */
  norm_layer: z.enum(['batchnorm', 'BatchNorm2d', 'groupnorm', 'GroupNorm']).default('batchnorm'),
  /**
   * Anti-aliasing: the stride of each downsampling 3x3 conv moves to this layer after its ReLU,
   * and the stem's max pool becomes max pool at stride 1 + BlurPool2d, or AvgPool2d(2) alone.
   */
  aa_layer: z
    .enum(['AvgPool2d', 'BlurPool2d', 'avg', 'avgpool', 'blur', 'blurpool'])
    .nullable()
    .default(null),
  /**
   * Cardinal's form of timm's `pruned=True`: the output channels of every conv by module path
   * (timm reads them from models/_pruned/<name>.txt).
   */
  conv_widths: z.record(z.string().max(256), posInt.max(L.channels)).optional(),
  // Dropout and stochastic depth do nothing at inference; accepted so timm configs load as is.
  drop_rate: z.number().min(0).max(1).default(0),
  drop_path_rate: z.number().min(0).max(1).default(0),
  drop_block_rate: z.number().min(0).max(1).default(0),
  /** Zero-initialise the last BatchNorm of each residual branch (timm's default). */
  zero_init_last: z.boolean().default(true),
  /** Cardinal extension: every convolution carries a bias. */
  conv_bias: z.boolean().default(false),
  block_args: blockArgsSchema.default({}),
});

/** A config as written in JSON (timm's names; every knob but block and layers optional). */
export type ResNetConfigJson = z.input<typeof resnetConfigSchema>;
/** The same in TypeScript's names, as code and the zoo write it. */
export type ResNetConfig = DeepCamel<ResNetConfigJson>;
/** With every default filled in: what the builder reads. */
export type ResolvedResNetConfig = DeepCamel<z.output<typeof resnetConfigSchema>>;
export type BlockArgs = DeepCamel<z.input<typeof blockArgsSchema>>;
export type SkKwargs = DeepCamel<z.input<typeof skKwargsSchema>>;
export type StemType = ResolvedResNetConfig['stemType'];

const toSnake = snakeKeys(
  resnetConfigSchema.shape,
  blockArgsSchema.shape,
  skKwargsSchema.shape,
  attnPartialSchema.shape,
);

/** The block of each stage: one name for all, or one per stage. */
export function stageBlocks(block: BlockName | readonly BlockName[], stages: number): BlockName[] {
  return typeof block === 'string' ? Array.from({ length: stages }, () => block) : [...block];
}

/** Accepts a block name as timm's class name, with or without its module prefix. */
export function blockName(name: string, source: string): BlockName {
  const short = name.slice(name.lastIndexOf('.') + 1);
  if (!(BLOCK_NAMES as readonly string[]).includes(short)) {
    throw new ConfigError(`${source}: unknown block '${name}'; known blocks: ${BLOCK_NAMES.join(', ')}`);
  }
  return short as BlockName;
}

/** Converts a camelCase config to timm's snake_case JSON. */
export function resnetConfigToJson(c: ResNetConfig): ResNetConfigJson {
  const { convWidths, ...rest } = c;
  const j = renameKeysDeep(rest, toSnake) as ResNetConfigJson;
  return convWidths ? { ...j, conv_widths: { ...convWidths } } : j;
}

/**
 * Parses a timm-format (snake_case) config, checked against the declaration, into a camelCase
 * config with every default filled in.
 */
export function parseResNetConfig(value: unknown, source = 'config'): ResolvedConfig {
  const j = parseWith(resnetConfigSchema, value, source);
  const { conv_widths, ...rest } = j;
  const block =
    typeof j.block === 'string' ? blockName(j.block, source) : j.block.map((n) => blockName(n, source));
  // conv_widths' keys are module paths, not names to camelCase.
  return {
    ...(renameKeysDeep(rest, camelCase) as ResolvedResNetConfig),
    ...(conv_widths ? { convWidths: conv_widths } : {}),
    block,
  };
}

/** A config with every default filled in and its block names checked. */
export type ResolvedConfig = Omit<ResolvedResNetConfig, 'block'> & { block: BlockName | BlockName[] };

/** Fills the declared defaults and checks what timm would reject. */
export function resolveResNetConfig(config: ResNetConfig, source = 'config'): ResolvedConfig {
  const c = parseResNetConfig(resnetConfigToJson(config), source);
  if (Array.isArray(c.block) && c.block.length !== c.layers.length)
    throw new ConfigError(
      `${source}: block lists ${c.block.length} block types for ${c.layers.length} stages`,
    );
  if (c.layers.length !== c.channels.length) {
    throw new ConfigError(
      `${source}: layers (${c.layers.length} stages) and channels (${c.channels.length}) must have the same length`,
    );
  }
  return c;
}
