import { InputError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { ChannelNormalisation } from '../weights/metadata.js';
import { type Image8, type Interpolation, resizeImage } from './resample.js';

/**
 * A model's evaluation transform, as timm's `pretrained_cfg` states it and torchvision runs it:
 * Resize(floor(size / crop_pct), interpolation) on the shorter side, CenterCrop(size), ToTensor,
 * Normalize(mean, std).
 */
export interface PreprocessConfig {
  /** [height, width] the model sees. */
  inputSize: [number, number];
  interpolation: Interpolation;
  /** Fraction of the resized image the crop keeps (timm's crop_pct); 1 resizes to the input size. */
  cropPct: number;
  mean: readonly number[];
  std: readonly number[];
  /** 3 (RGB, as PIL's convert('RGB')) or 1 (convert('L')). */
  channels: 1 | 3;
}

/** torchvision's ImageNet evaluation defaults: 224, bilinear, crop 0.875 (256 -> 224). */
export const IMAGENET_DEFAULTS: PreprocessConfig = {
  inputSize: [224, 224],
  interpolation: 'bilinear',
  cropPct: 0.875,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  channels: 3,
};

/**
 * The transform a model gets when nothing states one: ImageNet's defaults at its input size,
 * and for one-channel models mean and std 0.5 (ImageNet's are per RGB channel).
 */
export function defaultPreprocess(channels: 1 | 3, inputSize: [number, number]): PreprocessConfig {
  return channels === 3
    ? { ...IMAGENET_DEFAULTS, inputSize }
    : { ...IMAGENET_DEFAULTS, inputSize, mean: [0.5], std: [0.5], channels };
}

/** Where a model's transform came from: its weights' stored normalisation, its own config, or the defaults. */
export type PreprocessOrigin = 'weights' | 'model' | 'defaults';

/** What decides a model's transform, most specific first. */
export interface PreprocessSources {
  /** The image channels the model takes. */
  channels: 1 | 3;
  /** The model's input size when it declares no transform (default 224 x 224). */
  inputSize?: [number, number];
  /** The model's declared transform (timm's pretrained_cfg). */
  declared?: PreprocessConfig;
  /** The normalisation stored with the weights (`cardinal train`), and the file it came from. */
  stored?: ChannelNormalisation;
  storedIn?: string;
  /** The caller's own choices, over everything else. */
  overrides?: Partial<Omit<PreprocessConfig, 'channels'>>;
}

/**
 * The transform to run a model's weights with, as timm's resolve_data_config decides it: the
 * normalisation stored with the weights first (they were trained on whole images, so the crop
 * keeps all: crop_pct 1), then the model's declared transform, then the defaults at its input
 * size; the caller's overrides win over each. One rule for the CLI, the server and the demo.
 */
export function resolvePreprocess(sources: PreprocessSources): {
  config: PreprocessConfig;
  origin: PreprocessOrigin;
} {
  const { channels, stored, declared, overrides = {} } = sources;
  if (stored && (stored.mean.length !== channels || stored.std.length !== channels))
    throw new InputError(
      `${sources.storedIn ?? 'weights'}: the weights were trained on ${stored.mean.length}-channel images, the model takes ${channels}`,
    );
  const base = declared ?? defaultPreprocess(channels, sources.inputSize ?? [224, 224]);
  const fromWeights = stored ? { mean: stored.mean, std: stored.std, cropPct: 1 } : {};
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return {
    config: { ...base, ...fromWeights, ...defined, channels },
    origin: stored ? 'weights' : declared ? 'model' : 'defaults',
  };
}

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * To RGB as PIL's convert('RGB') (alpha dropped, not composited; gray replicated), or to L as
 * convert('L') (ITU-R 601-2 luma in PIL's fixed point).
 */
export function toChannels(img: Image8, channels: 1 | 3): Image8 {
  const n = img.width * img.height;
  const c = img.channels;
  if (c === channels) return img;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const p = i * c;
    const [r, g, b] =
      c >= 3
        ? [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!]
        : [img.data[p]!, img.data[p]!, img.data[p]!];
    if (channels === 3) out.set([r, g, b], i * 3);
    else out[i] = c >= 3 ? (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16 : r;
  }
  return { width: img.width, height: img.height, channels, data: out };
}

/** torchvision's Resize(int): the size the shorter side to `size` gives (the longer truncated). */
function shorterSideSize(img: Image8, size: number): [number, number] {
  const { width: w, height: h } = img;
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((size * long) / short);
  return w <= h ? [size, newLong] : [newLong, size];
}

/** torchvision's Resize(int): the shorter side to `size`, the longer in proportion (truncated). */
export function resizeShorter(img: Image8, size: number, interpolation: Interpolation): Image8 {
  const [nw, nh] = shorterSideSize(img, size);
  return resizeImage(img, nw, nh, interpolation);
}

/** torchvision's CenterCrop: offsets rounded as Python rounds, zero padding when the image is smaller. */
export function centerCrop(img: Image8, height: number, width: number): Image8 {
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  // Padding first when the crop is larger (torchvision pads (size - image) // 2 on the left/top).
  const padTop = img.height < height ? Math.floor((height - img.height) / 2) : 0;
  const padLeft = img.width < width ? Math.floor((width - img.width) / 2) : 0;
  const ph = Math.max(img.height, height);
  const pw = Math.max(img.width, width);
  const top = roundHalfEven((ph - height) / 2);
  const left = roundHalfEven((pw - width) / 2);
  // Row by row: the columns of the source inside the crop are one contiguous run.
  const x0 = Math.max(0, left - padLeft);
  const x1 = Math.min(img.width, width + left - padLeft);
  for (let y = 0; y < height; y++) {
    const sy = y + top - padTop;
    if (sy < 0 || sy >= img.height || x1 <= x0) continue;
    out.set(
      img.data.subarray((sy * img.width + x0) * c, (sy * img.width + x1) * c),
      (y * width + x0 - left + padLeft) * c,
    );
  }
  return { width, height, channels: c, data: out };
}

/** The resized, cropped 8-bit image the model will see (before ToTensor and Normalize). */
export function transformImage(img: Image8, cfg: PreprocessConfig): Image8 {
  if (!(cfg.cropPct > 0 && cfg.cropPct <= 1))
    throw new InputError(`crop_pct must be in (0, 1], got ${cfg.cropPct}`);
  const [h, w] = cfg.inputSize;
  const rgb = toChannels(img, cfg.channels);
  // timm: scale_size = floor(img_size / crop_pct); a square input resizes the shorter side.
  const [nw, nh] =
    h === w
      ? shorterSideSize(rgb, Math.floor(h / cfg.cropPct))
      : [Math.floor(w / cfg.cropPct), Math.floor(h / cfg.cropPct)];
  if (nw >= w && nh >= h) {
    // The crop lies inside the resized image: resize only the crop (the same bytes).
    const box = { x: roundHalfEven((nw - w) / 2), y: roundHalfEven((nh - h) / 2), w, h };
    return resizeImage(rgb, nw, nh, cfg.interpolation, box);
  }
  return centerCrop(resizeImage(rgb, nw, nh, cfg.interpolation), h, w);
}

/**
 * Images to the [N, C, H, W] float32 batch a model sees, equal to torchvision's
 * Resize -> CenterCrop -> ToTensor -> Normalize on PIL images: the 8-bit steps byte for byte
 * (Pillow's resampling), the float steps rounded to float32 one operation at a time as torch does.
 */
export function preprocessImages(images: readonly Image8[], cfg: PreprocessConfig): Tensor {
  const [h, w] = cfg.inputSize;
  const c = cfg.channels;
  if (cfg.mean.length !== c || cfg.std.length !== c)
    throw new InputError(`mean and std need ${c} values, got ${cfg.mean.length} and ${cfg.std.length}`);
  const data = new Float32Array(images.length * c * h * w);
  const mean = cfg.mean.map(Math.fround);
  const std = cfg.std.map(Math.fround);
  // Each channel maps 256 byte values to 256 floats: a table, computed as torch computes it.
  const tables = mean.map((m, ch) =>
    Float32Array.from({ length: 256 }, (_, v) =>
      Math.fround(Math.fround(Math.fround(v / 255) - m) / std[ch]!),
    ),
  );
  images.forEach((img, n) => {
    const t = transformImage(img, cfg);
    for (let ch = 0; ch < c; ch++) {
      const base = (n * c + ch) * h * w;
      const table = tables[ch]!;
      for (let i = 0; i < h * w; i++) data[base + i] = table[t.data[i * c + ch]!]!;
    }
  });
  return { shape: [images.length, c, h, w], data };
}
