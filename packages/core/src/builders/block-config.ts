import { z } from 'zod';
import { CONFIG_LIMITS, camelCase, parseWith, renameKeysDeep } from '../config/parse.js';
import { BLOCK_NAMES, type SkKwargs, skKwargsSchema } from '../config/resnet.js';
import type { CostLimits } from '../cost.js';
import { ConfigError, formatShape, ShapeError } from '../errors.js';
import { GraphBuilder, type SymbolicTensor } from '../ir/builder.js';
import type { Graph } from '../ir/graph.js';
import { selectiveKernel, seModule, splitAttn } from '../layers/attention.js';
import { BLOCK_TYPES, type BlockName, downsampleAvg, downsampleConv, type ShortcutFn } from './blocks.js';

/** Positive integers bounded like the model config's channels, so no block config can ask for an absurd graph. */
const posInt = z.number().int().positive().max(CONFIG_LIMITS.channels);

const downsampleSchema = z.strictObject({
  fn: z.string(),
  args: z.strictObject({
    in_channels: posInt,
    out_channels: posInt,
    kernel_size: posInt.optional(),
    stride: posInt.optional(),
    dilation: posInt.optional(),
    first_dilation: posInt.nullable().optional(),
  }),
  layers: z.string().optional(),
});

/** A `kind: "block"` fixture config: the module class, its arguments, an optional downsample. */
export const blockConfigSchema = z.strictObject({
  module: z.string(),
  args: z.record(z.string(), z.unknown()),
  downsample: downsampleSchema.optional(),
});

export type BlockConfigJson = z.infer<typeof blockConfigSchema>;

const blockArgsSchema = z.strictObject({
  inplanes: posInt,
  planes: posInt,
  stride: posInt.optional(),
  cardinality: posInt.optional(),
  groups: posInt.optional(),
  base_width: posInt.optional(),
  reduce_first: posInt.optional(),
  dilation: posInt.optional(),
  first_dilation: posInt.nullable().optional(),
  attn_layer: z.enum(['se']).nullable().optional(),
  sk_kwargs: skKwargsSchema.optional(),
  radix: z.number().int().nonnegative().optional(),
  avd: z.boolean().optional(),
  avd_first: z.boolean().optional(),
  is_first: z.boolean().optional(),
});

const seArgsSchema = z.strictObject({
  channels: posInt,
  rd_ratio: z.number().positive().optional(),
  rd_channels: posInt.nullable().optional(),
  rd_divisor: posInt.optional(),
  bias: z.boolean().optional(),
});

const skArgsSchema = skKwargsSchema.extend({
  in_channels: posInt,
  out_channels: posInt.nullable().optional(),
  stride: posInt.optional(),
  dilation: posInt.optional(),
  groups: posInt.optional(),
});

const splitAttnArgsSchema = z.strictObject({
  in_channels: posInt,
  out_channels: posInt.nullable().optional(),
  kernel_size: posInt.optional(),
  stride: posInt.optional(),
  padding: z.number().int().nonnegative().nullable().optional(),
  dilation: posInt.optional(),
  groups: posInt.optional(),
  bias: z.boolean().optional(),
  radix: posInt.optional(),
  rd_ratio: z.number().positive().optional(),
  rd_channels: posInt.nullable().optional(),
  rd_divisor: posInt.optional(),
  norm_layer: z.enum(['BatchNorm2d', 'batchnorm']).nullable().optional(),
});

function shortName(module: string): string {
  return module.slice(module.lastIndexOf('.') + 1);
}

function expectChannels(x: SymbolicTensor, channels: number, what: string): void {
  if (x.shape[1] !== channels) {
    throw new ShapeError(
      `${what}: expects ${channels} input channels, input shape is ${formatShape(x.shape)}`,
    );
  }
}

function downsampleFrom(j: z.infer<typeof downsampleSchema>, source: string): ShortcutFn {
  const o = {
    inChannels: j.args.in_channels,
    outChannels: j.args.out_channels,
    kernelSize: j.args.kernel_size,
    stride: j.args.stride,
    dilation: j.args.dilation,
    firstDilation: j.args.first_dilation ?? undefined,
  };
  const fn = shortName(j.fn);
  if (fn === 'downsample_conv') return downsampleConv(o);
  if (fn === 'downsample_avg') return downsampleAvg(o);
  throw new ConfigError(`${source}: unknown downsample '${j.fn}' (known: downsample_conv, downsample_avg)`);
}

export const BLOCK_MODULES = [...BLOCK_NAMES, 'SEModule', 'SelectiveKernel', 'SplitAttn'] as const;

/**
 * Builds one block or attention module on its own from a fixture-style block config, with
 * state_dict keys relative to the module (`conv1.weight`, `downsample.1.weight`).
 */
export function buildBlockGraph(
  value: unknown,
  inputShape: readonly number[],
  source = 'config',
  limits?: Partial<CostLimits>,
): Graph {
  const cfg = parseWith(blockConfigSchema, value, source);
  const name = shortName(cfg.module);
  const b = new GraphBuilder(name, limits);
  if (inputShape.length !== 4)
    throw new ShapeError(`${source}: block input must be [N, C, H, W], got ${formatShape(inputShape)}`);
  const x = b.input('input', inputShape);
  let y: SymbolicTensor;
  if (Object.hasOwn(BLOCK_TYPES, name)) {
    const a = parseWith(blockArgsSchema, cfg.args, `${source}: args`);
    expectChannels(x, a.inplanes, `${source}: ${name}(inplanes=${a.inplanes})`);
    const block = BLOCK_TYPES[name as BlockName];
    y = block.fn(b, x, {
      inplanes: a.inplanes,
      planes: a.planes,
      stride: a.stride,
      downsample: cfg.downsample && downsampleFrom(cfg.downsample, source),
      cardinality: a.cardinality ?? a.groups,
      baseWidth: a.base_width,
      reduceFirst: a.reduce_first,
      dilation: a.dilation,
      firstDilation: a.first_dilation ?? undefined,
      attnLayer: a.attn_layer ?? null,
      skKwargs: renameKeysDeep(a.sk_kwargs, camelCase) as SkKwargs | undefined,
      radix: a.radix,
      avd: a.avd,
      avdFirst: a.avd_first,
      isFirst: a.is_first,
    });
    const expansion = block.expansion;
    if (!cfg.downsample && ((a.stride ?? 1) !== 1 || a.inplanes !== a.planes * expansion)) {
      throw new ConfigError(
        `${source}: ${name} with stride ${a.stride ?? 1} and ${a.inplanes} -> ${a.planes * expansion} channels needs a downsample`,
      );
    }
  } else if (name === 'SEModule') {
    const a = parseWith(seArgsSchema, cfg.args, `${source}: args`);
    expectChannels(x, a.channels, `${source}: SEModule(channels=${a.channels})`);
    y = seModule(b, x, '', {
      channels: a.channels,
      rdRatio: a.rd_ratio,
      rdChannels: a.rd_channels ?? undefined,
      rdDivisor: a.rd_divisor,
      bias: a.bias,
    });
  } else if (name === 'SelectiveKernel') {
    const a = parseWith(skArgsSchema, cfg.args, `${source}: args`);
    expectChannels(x, a.in_channels, `${source}: SelectiveKernel(in_channels=${a.in_channels})`);
    y = selectiveKernel(b, x, '', {
      ...(renameKeysDeep(a, camelCase) as SkKwargs),
      inChannels: a.in_channels,
      outChannels: a.out_channels ?? undefined,
      stride: a.stride,
      dilation: a.dilation,
      groups: a.groups,
    });
  } else if (name === 'SplitAttn') {
    const a = parseWith(splitAttnArgsSchema, cfg.args, `${source}: args`);
    expectChannels(x, a.in_channels, `${source}: SplitAttn(in_channels=${a.in_channels})`);
    y = splitAttn(b, x, '', {
      inChannels: a.in_channels,
      outChannels: a.out_channels ?? undefined,
      kernelSize: a.kernel_size,
      stride: a.stride,
      padding: a.padding ?? undefined,
      dilation: a.dilation,
      groups: a.groups,
      bias: a.bias,
      radix: a.radix,
      rdRatio: a.rd_ratio,
      rdChannels: a.rd_channels ?? undefined,
      rdDivisor: a.rd_divisor,
      norm: a.norm_layer !== null && a.norm_layer !== undefined,
    });
  } else {
    throw new ConfigError(
      `${source}: unknown block module '${cfg.module}'; known: ${BLOCK_MODULES.join(', ')}`,
    );
  }
  b.output(y);
  return b.build();
}
