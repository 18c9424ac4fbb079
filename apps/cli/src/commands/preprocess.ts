import {
  defaultPreprocess,
  type Interpolation,
  type PreprocessConfig,
  preprocessImages,
  writeNpy,
} from '@cardinal/core';
import { checkOutputPath, decodeImage, writeFileAtomic } from '@cardinal/pretrained';
import { parse, parseSize } from '../args.js';
import { UsageError } from '../errors.js';
import { ModelSource } from '../model-source.js';

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

/**
 * The model's evaluation transform: a model folder's pretrained_cfg (or, for other models, their
 * input size and channels with ImageNet's defaults), each flag over it.
 */
export function preprocessConfig(
  model: ModelSource,
  values: Partial<Record<'input-size' | 'interpolation' | 'crop-pct' | 'mean' | 'std', string>>,
): PreprocessConfig {
  const declared = model.declaredInputShape();
  const inChans = declared?.[1] ?? model.load(undefined).graph.inputs[0]!.shape[1]!;
  if (inChans !== 1 && inChans !== 3)
    throw new UsageError(`${model.spec}: images have 1 or 3 channels, the model takes ${inChans}`);
  const channels = inChans as 1 | 3;
  const base: PreprocessConfig =
    model.pretrained()?.preprocess ??
    defaultPreprocess(channels, [declared?.[2] ?? 224, declared?.[3] ?? 224]);
  const interpolation = (values.interpolation ?? base.interpolation) as Interpolation;
  if (!INTERPOLATIONS.includes(interpolation))
    throw new UsageError(
      `--interpolation must be ${INTERPOLATIONS.join(', ')}, got '${values.interpolation}'`,
    );
  const cropPct = values['crop-pct'] === undefined ? base.cropPct : Number(values['crop-pct']);
  if (!(cropPct > 0 && cropPct <= 1))
    throw new UsageError(`--crop-pct must be in (0, 1], got '${values['crop-pct']}'`);
  return {
    inputSize: values['input-size'] ? parseSize(values['input-size'], '--input-size') : base.inputSize,
    interpolation,
    cropPct,
    mean: values.mean ? parseFloats(values.mean, '--mean', channels) : base.mean,
    std: values.std ? parseFloats(values.std, '--std', channels) : base.std,
    channels,
  };
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
  const model = await ModelSource.open(values.model);
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
