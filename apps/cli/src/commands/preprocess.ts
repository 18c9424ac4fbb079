import { type Interpolation, type PreprocessConfig, preprocessImages, writeNpy } from '@cardinal/core';
import {
  checkOutputPath,
  decodeImage,
  imageChannels,
  sourcePreprocess,
  writeFileAtomic,
} from '@cardinal/pretrained';
import { parse, parseSize } from '../args.js';
import { UsageError } from '../errors.js';
import { type ModelSource, openSource } from '../model-source.js';

export const preprocessHelp = `cardinal preprocess <image>... --model <model | config.json | folder | hf-hub:org/name> --out X.npy [--force]
                    [--input-size S] [--interpolation bilinear|bicubic|nearest] [--crop-pct C]
                    [--mean 0.485,0.456,0.406] [--std 0.229,0.224,0.225]
  Writes the [N, C, S, S] batch the model sees: torchvision's Resize(floor(S / crop_pct)),
  CenterCrop(S), ToTensor and Normalize, byte-exact to Pillow's resampling. A model folder's
  pretrained_cfg gives the defaults; the flags override them.`;

const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'bicubic', 'nearest'];

/** The transform's flags, shared by every command that reads images or writes a folder. */
export const PREPROCESS_OPTIONS = {
  'input-size': { type: 'string' },
  interpolation: { type: 'string' },
  'crop-pct': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
} as const;

function parseFloats(v: string, flag: string, count: number): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length !== count || !xs.every(Number.isFinite))
    throw new UsageError(`${flag} must be ${count} comma-separated numbers, got '${v}'`);
  return xs;
}

type PreprocessFlags = Partial<Record<'input-size' | 'interpolation' | 'crop-pct' | 'mean' | 'std', string>>;

/** The transform flags as overrides of a model's transform (mean and std of `channels` values). */
export function preprocessOverrides(
  values: PreprocessFlags,
  channels: 1 | 3,
): Partial<Omit<PreprocessConfig, 'channels'>> {
  const interpolation = values.interpolation as Interpolation | undefined;
  if (interpolation !== undefined && !INTERPOLATIONS.includes(interpolation))
    throw new UsageError(
      `--interpolation must be ${INTERPOLATIONS.join(', ')}, got '${values.interpolation}'`,
    );
  const cropPct = values['crop-pct'] === undefined ? undefined : Number(values['crop-pct']);
  if (cropPct !== undefined && !(cropPct > 0 && cropPct <= 1))
    throw new UsageError(`--crop-pct must be in (0, 1], got '${values['crop-pct']}'`);
  return {
    ...(values['input-size'] ? { inputSize: parseSize(values['input-size'], '--input-size') } : {}),
    ...(interpolation ? { interpolation } : {}),
    ...(cropPct !== undefined ? { cropPct } : {}),
    ...(values.mean ? { mean: parseFloats(values.mean, '--mean', channels) } : {}),
    ...(values.std ? { std: parseFloats(values.std, '--std', channels) } : {}),
  };
}

/**
 * The model's evaluation transform (see core's resolvePreprocess): a model folder's
 * pretrained_cfg, or ImageNet's defaults at the model's input size, each flag over it.
 */
export function preprocessConfig(model: ModelSource, values: PreprocessFlags): PreprocessConfig {
  return sourcePreprocess(model, { overrides: preprocessOverrides(values, imageChannels(model)) }).config;
}

export async function preprocessCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parse('preprocess', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
    ...PREPROCESS_OPTIONS,
  });
  if (values.help) {
    out(preprocessHelp);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('preprocess: expected one or more images');
  if (!values.model) throw new UsageError('preprocess: --model is required (its input size and channels)');
  if (!values.out) throw new UsageError('preprocess: --out X.npy is required');
  if (!values.out.toLowerCase().endsWith('.npy'))
    throw new UsageError(`preprocess: --out must end in .npy, got '${values.out}'`);
  const model = await openSource(values.model);
  const inputs = [...positionals, ...model.files];
  checkOutputPath(values.out, values.force ?? false, inputs);
  const cfg = preprocessConfig(model, values);
  const images = [];
  for (const p of positionals) images.push(await decodeImage(p));
  const batch = preprocessImages(images, cfg);
  writeFileAtomic(values.out, writeNpy(batch), values.force ?? false, inputs);
  out(`wrote ${values.out}: [${batch.shape.join(', ')}] (${cfg.interpolation}, crop ${cfg.cropPct})`);
  return 0;
}
