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
  rd_ratio: z
    .number()
    .positive()
    .max(16)
    .optional()
    .describe('attention width as a fraction of the output channels (timm: 1/16)'),
  rd_divisor: posInt
    .max(L.width)
    .optional()
    .describe('the attention width is rounded to a multiple of this (timm: 8)'),
  rd_channels: posInt.max(L.channels).optional().describe('the attention width itself, over rd_ratio'),
  split_input: z
    .boolean()
    .optional()
    .describe('each path convolves its own slice of the input channels (timm: true)'),
  keep_3x3: z.boolean().optional().describe('each kxk path is a 3x3 dilated to the same field (timm: true)'),
  kernel_size: z
    .union([posInt.max(L.kernel), z.array(posInt.max(L.kernel)).min(1).max(8)])
    .optional()
    .describe("the paths' kernel sizes (timm: [3, 5])"),
});

/** An attention layer with arguments: timm's `partial(SEModule, rd_ratio=0.25)` (ResNet-RS) as JSON. */
export const attnPartialSchema = z.strictObject({
  partial: z.enum(['SEModule', 'se', 'EcaModule', 'eca']).describe('the attention module'),
  rd_ratio: z
    .number()
    .positive()
    .max(16)
    .optional()
    .describe("SE's reduced width as a fraction of the channels (timm: 1/16)"),
  rd_divisor: posInt
    .max(L.width)
    .optional()
    .describe("SE's reduced width is rounded to a multiple of this (timm: 8)"),
  kernel_size: posInt.max(L.kernel).optional().describe("ECA's kernel, over the adaptive one"),
});

/** timm's `block_args`: what the ResNet passes to every block. */
export const blockArgsSchema = z.strictObject({
  attn_layer: z
    .union([z.enum(['se', 'eca']), attnPartialSchema])
    .nullable()
    .optional()
    .describe(
      "attention after the block's last norm: SE, ECA (adaptive kernel), or {partial, ...} with arguments",
    ),
  sk_kwargs: skKwargsSchema.optional().describe('SelectiveKernel arguments (SK blocks)'),
  radix: nonNegInt
    .max(L.radix)
    .optional()
    .describe('split-attention radix of ResNeSt blocks (0: a plain conv)'),
  avd: z.boolean().optional().describe('ResNeSt: the stride moves to a 3x3 average pool'),
  avd_first: z.boolean().optional().describe('ResNeSt: that pool comes before the split-attention conv'),
});

/**
 * timm's `ResNet(...)` arguments, in its own names: **the one declaration of every config
 * knob** with its bound, its default (timm's) and what it does (`.describe`, which
 * `configReference()` and `cardinal models --describe` print). The camelCase `ResNetConfig`,
 * the resolved config the builder reads, and the JSON form all derive from it; a new knob is one
 * line here and the code in the builder that uses it.
 */
export const resnetConfigSchema = z.strictObject({
  block: z
    .union([z.string(), z.array(z.string()).min(1).max(L.stages)])
    .describe(
      'the block class (BasicBlock, Bottleneck, SelectiveKernel*, ResNestBottleneck), or one per stage',
    ),
  layers: z.array(posInt.max(L.blocksPerStage)).min(1).max(L.stages).describe('blocks per stage'),
  channels: z
    .array(posInt.max(L.channels))
    .min(1)
    .max(L.stages)
    .default([64, 128, 256, 512])
    .describe("each stage's planes (its output is planes x the block's expansion)"),
  num_classes: nonNegInt
    .max(L.classes)
    .default(1000)
    .describe('classifier outputs (0: no fc, pooled features out)'),
  in_chans: posInt.max(L.inChans).default(3).describe('input image channels'),
  output_stride: z
    .union([z.literal(8), z.literal(16), z.literal(32)])
    .default(32)
    .describe('the network stride: 8 or 16 trade the last strides for dilation'),
  global_pool: z.literal('avg').default('avg').describe('the head pooling'),
  cardinality: posInt.max(L.width).default(1).describe('groups of the 3x3 conv (ResNeXt)'),
  base_width: posInt
    .max(L.width)
    .default(64)
    .describe('width per group: a bottleneck is planes x base_width / 64 x cardinality wide'),
  stem_width: posInt
    .max(L.width)
    .default(64)
    .describe('channels of the deep stems (the 7x7 stem has 64 whatever this is)'),
  stem_type: z
    .enum(['', 'deep', 'deep_tiered', 'cifar'])
    .default('')
    .describe(
      "'' 7x7 conv; deep: three 3x3 convs (c, d, s models); deep_tiered: 3/4 width first (t models); cifar (Cardinal): one 3x3 stride 1, no pool",
    ),
  replace_stem_pool: z
    .boolean()
    .default(false)
    .describe("the stem's max pool becomes a 3x3 stride-2 conv-norm-ReLU (ResNet-RS)"),
  block_reduce_first: posInt
    .max(64)
    .default(1)
    .describe("each block's first conv is width / this wide (senet154: 2)"),
  down_kernel_size: posInt
    .max(L.kernel)
    .default(1)
    .describe('kernel of strided shortcut convs (senet154: 3)'),
  avg_down: z
    .boolean()
    .default(false)
    .describe('shortcuts average-pool then 1x1 conv instead of a strided conv (d models)'),
  act_layer: z.literal('relu').default('relu').describe('the activation'),
  norm_layer: z
    .enum(['batchnorm', 'BatchNorm2d', 'groupnorm', 'GroupNorm'])
    .default('batchnorm')
    .describe(
      "BatchNorm2d, or timm's GroupNorm (32 groups, eps 1e-5) everywhere a norm stands (resnet50_gn)",
    ),
  aa_layer: z
    .enum(['AvgPool2d', 'BlurPool2d', 'avg', 'avgpool', 'blur', 'blurpool'])
    .nullable()
    .default(null)
    .describe(
      'anti-aliasing: a downsampling 3x3 conv runs at stride 1 and this layer strides after its ReLU; the stem pool becomes max pool + BlurPool2d, or AvgPool2d(2)',
    ),
  conv_widths: z
    .record(z.string().max(256), posInt.max(L.channels))
    .optional()
    .describe(
      "Cardinal's form of timm's pruned=True: output channels by conv module path (timm's _pruned/*.txt)",
    ),
  drop_rate: z.number().min(0).max(1).default(0).describe('dropout before fc (training only)'),
  drop_path_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('stochastic depth, rising linearly to this by block (training only)'),
  drop_block_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('DropBlock2d rate in stages 3 and 4 (training only)'),
  zero_init_last: z
    .boolean()
    .default(true)
    .describe('the last norm weight of each residual branch starts at 0 (random init only)'),
  conv_bias: z.boolean().default(false).describe('Cardinal extension: every convolution carries a bias'),
  block_args: blockArgsSchema.default({}).describe("what every block receives (timm's block_args)"),
});

/** One knob of the ResNet config as `cardinal models --describe` shows it. */
export interface ConfigKnob {
  /** timm's name, dotted below block_args (`block_args.attn_layer`). */
  name: string;
  /** The default as JSON, or undefined when the knob is required or timm's block decides. */
  default: unknown;
  description: string;
}

type AnySchema = { description?: string; def: { type: string; defaultValue?: unknown } };

/** Every knob of the declaration, with its default and what it does, in declaration order. */
export function configReference(): ConfigKnob[] {
  const rows: ConfigKnob[] = [];
  const walk = (shape: Record<string, unknown>, prefix: string) => {
    for (const [key, schema] of Object.entries(shape) as [string, AnySchema][]) {
      const d = schema.def;
      rows.push({
        name: `${prefix}${key}`,
        default: d.type === 'default' ? d.defaultValue : undefined,
        description: schema.description ?? '',
      });
    }
  };
  walk(resnetConfigSchema.shape, '');
  walk(blockArgsSchema.shape, 'block_args.');
  walk(skKwargsSchema.shape, 'block_args.sk_kwargs.');
  return rows;
}

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
