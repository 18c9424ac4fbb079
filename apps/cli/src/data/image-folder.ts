import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { CliError } from '../errors.js';
import type { Dataset } from './dataset.js';

const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * An image folder, one subfolder per class (sorted names are the classes), decoded and resized
 * with sharp (libvips) to size x size, then normalised as ImageNet models expect.
 */
export async function imageFolder(dir: string, size: number): Promise<Dataset> {
  let classes: string[];
  try {
    classes = readdirSync(dir)
      .filter((d) => statSync(join(dir, d)).isDirectory())
      .sort();
  } catch {
    throw new CliError(`${dir}: not a readable folder`);
  }
  if (classes.length < 2)
    throw new CliError(`${dir}: needs one subfolder per class (found ${classes.length})`);
  const files: { path: string; label: number }[] = [];
  classes.forEach((c, label) => {
    for (const f of readdirSync(join(dir, c)).sort()) {
      if (EXTENSIONS.has(extname(f).toLowerCase())) files.push({ path: join(dir, c, f), label });
    }
  });
  if (files.length === 0)
    throw new CliError(`${dir}: no images (${[...EXTENSIONS].join(', ')}) in the class folders`);
  let sharp: typeof import('sharp');
  try {
    sharp = (await import('sharp')).default;
  } catch {
    throw new CliError('reading an image folder needs the package sharp');
  }
  const plane = size * size;
  const images = new Float32Array(files.length * 3 * plane);
  const labels = new Int32Array(files.length);
  for (const [n, f] of files.entries()) {
    let raw: Buffer;
    try {
      raw = await sharp(f.path)
        .resize(size, size, { fit: 'cover' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer();
    } catch (e) {
      throw new CliError(`${f.path}: cannot decode image (${(e as Error).message})`);
    }
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++)
        images[(n * 3 + c) * plane + i] = (raw[i * 3 + c]! / 255 - MEAN[c]!) / STD[c]!;
    }
    labels[n] = f.label;
  }
  return { images, labels, count: files.length, shape: [3, size, size], classes };
}
