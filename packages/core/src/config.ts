import { z } from 'zod';
import { BLOCK_TYPES, type BlockName } from './builders/blocks.js';
import type { ResNetConfig } from './builders/resnet.js';
import { ConfigError } from './errors.js';

/** One issue's message, cut short: an unknown-keys issue can list a million keys. */
function shortMessage(message: string): string {
  return message.length > 160 ? `${message.slice(0, 157)}...` : message;
}

/** Formats zod issues as one line: `source: path: message; path: message`, at most about 1 kB. */
export function formatIssues(source: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.slice(0, 8).map(String).join('.').slice(0, 120) : '<root>';
    return `${path}: ${shortMessage(i.message)}`;
  });
  return `${source}: ${parts.join('; ')}${error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : ''}`;
}

/** No config object of this project has more keys than this; more is not a config. */
const MAX_KEYS = 256;

/** Refuses an object with absurdly many keys before zod lists every one of them as unknown. */
function checkKeyCount(value: unknown, source: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  let n = 0;
  for (const _ in value) if (++n > MAX_KEYS) break;
  if (n > MAX_KEYS)
    throw new ConfigError(
      `${source}: more than ${MAX_KEYS} keys in one object; not a config this reader knows`,
    );
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  checkKeyCount(value, source);
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(formatIssues(source, r.error));
  return r.data;
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/**
 * Upper bounds far beyond any published network of this family (resnet269 has 48 blocks in a
 * stage, the widest stage 2048 channels), so a malformed or hostile config cannot make the
 * builder spin or allocate without end.
 */
export const CONFIG_LIMITS = {
  blocksPerStage: 256,
  stages: 8,
  channels: 65_536,
  width: 4096,
  classes: 1_000_000,
  inChans: 1024,
  radix: 64,
  kernel: 15,
} as const;
const L = CONFIG_LIMITS;

export const skKwargsSchema = z.strictObject({
  rd_ratio: z.number().positive().max(16).optional(),
  rd_divisor: posInt.max(L.width).optional(),
  rd_channels: posInt.max(L.channels).optional(),
  split_input: z.boolean().optional(),
  keep_3x3: z.boolean().optional(),
  kernel_size: z.union([posInt.max(L.kernel), z.array(posInt.max(L.kernel)).min(1).max(8)]).optional(),
});

export type SkKwargsJson = z.infer<typeof skKwargsSchema>;

export function skKwargsFromJson(j: SkKwargsJson | undefined) {
  if (!j) return undefined;
  return {
    rdRatio: j.rd_ratio,
    rdDivisor: j.rd_divisor,
    rdChannels: j.rd_channels,
    splitInput: j.split_input,
    keep3x3: j.keep_3x3,
    kernelSize: j.kernel_size,
  };
}

const blockArgsSchema = z.strictObject({
  attn_layer: z.enum(['se']).nullable().optional(),
  sk_kwargs: skKwargsSchema.optional(),
  radix: nonNegInt.max(L.radix).optional(),
  avd: z.boolean().optional(),
  avd_first: z.boolean().optional(),
});

/** timm `ResNet(...)` arguments as the fixtures' meta.json `config` holds them (snake_case). */
export const resnetConfigSchema = z.strictObject({
  block: z.string(),
  layers: z.array(posInt.max(L.blocksPerStage)).min(1).max(L.stages),
  channels: z.array(posInt.max(L.channels)).min(1).max(L.stages).optional(),
  num_classes: nonNegInt.max(L.classes).optional(),
  in_chans: posInt.max(L.inChans).optional(),
  output_stride: z.union([z.literal(8), z.literal(16), z.literal(32)]).optional(),
  global_pool: z.literal('avg').optional(),
  cardinality: posInt.max(L.width).optional(),
  base_width: posInt.max(L.width).optional(),
  stem_width: posInt.max(L.width).optional(),
  stem_type: z.enum(['', 'deep', 'deep_tiered']).optional(),
  replace_stem_pool: z.boolean().optional(),
  block_reduce_first: posInt.max(64).optional(),
  down_kernel_size: posInt.max(L.kernel).optional(),
  avg_down: z.boolean().optional(),
  act_layer: z.literal('relu').optional(),
  norm_layer: z.enum(['batchnorm', 'BatchNorm2d']).optional(),
  aa_layer: z.null().optional(),
  // Dropout and stochastic depth do nothing at inference; accepted so timm configs load as is.
  drop_rate: z.number().min(0).max(1).optional(),
  drop_path_rate: z.number().min(0).max(1).optional(),
  drop_block_rate: z.number().min(0).max(1).optional(),
  zero_init_last: z.boolean().optional(),
  conv_bias: z.boolean().optional(),
  block_args: blockArgsSchema.optional(),
});

export type ResNetConfigJson = z.infer<typeof resnetConfigSchema>;

/** Accepts a block name as timm's class name, with or without its module prefix. */
export function blockName(name: string, source: string): BlockName {
  const short = name.slice(name.lastIndexOf('.') + 1);
  if (!Object.hasOwn(BLOCK_TYPES, short)) {
    throw new ConfigError(
      `${source}: unknown block '${name}'; known blocks: ${Object.keys(BLOCK_TYPES).join(', ')}`,
    );
  }
  return short as BlockName;
}

/** Parses a timm-format (snake_case) ResNet config into the camelCase ResNetConfig. */
export function parseResNetConfig(value: unknown, source = 'config'): ResNetConfig {
  const j = parseWith(resnetConfigSchema, value, source);
  const a = j.block_args;
  return {
    block: blockName(j.block, source),
    layers: j.layers,
    channels: j.channels,
    numClasses: j.num_classes,
    inChans: j.in_chans,
    outputStride: j.output_stride,
    cardinality: j.cardinality,
    baseWidth: j.base_width,
    stemWidth: j.stem_width,
    stemType: j.stem_type,
    replaceStemPool: j.replace_stem_pool,
    blockReduceFirst: j.block_reduce_first,
    downKernelSize: j.down_kernel_size,
    avgDown: j.avg_down,
    zeroInitLast: j.zero_init_last,
    convBias: j.conv_bias,
    blockArgs: a && {
      attnLayer: a.attn_layer ?? null,
      skKwargs: skKwargsFromJson(a.sk_kwargs),
      radix: a.radix,
      avd: a.avd,
      avdFirst: a.avd_first,
    },
  };
}

/** Converts a camelCase config back to timm's snake_case format. */
export function resnetConfigToJson(c: ResNetConfig): ResNetConfigJson {
  const out: Record<string, unknown> = {
    block: c.block,
    layers: c.layers,
    channels: c.channels,
    num_classes: c.numClasses,
    in_chans: c.inChans,
    output_stride: c.outputStride,
    cardinality: c.cardinality,
    base_width: c.baseWidth,
    stem_width: c.stemWidth,
    stem_type: c.stemType,
    replace_stem_pool: c.replaceStemPool,
    block_reduce_first: c.blockReduceFirst,
    down_kernel_size: c.downKernelSize,
    avg_down: c.avgDown,
    zero_init_last: c.zeroInitLast,
    conv_bias: c.convBias,
  };
  if (c.blockArgs) {
    const a = c.blockArgs;
    const sk = a.skKwargs;
    out.block_args = {
      attn_layer: a.attnLayer ?? undefined,
      radix: a.radix,
      avd: a.avd,
      avd_first: a.avdFirst,
      sk_kwargs: sk && {
        rd_ratio: sk.rdRatio,
        rd_divisor: sk.rdDivisor,
        rd_channels: sk.rdChannels,
        split_input: sk.splitInput,
        keep_3x3: sk.keep3x3,
        kernel_size: sk.kernelSize,
      },
    };
  }
  return JSON.parse(JSON.stringify(out)) as ResNetConfigJson;
}
