// IDX data sets (MNIST, Fashion-MNIST) from files: gzipped or not, found where Debian's
// dataset-fashion-mnist package puts them or in a folder a user names.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, type IdxArray, idxImagesAndLabels, readIdx } from '@cardinal/core';
import { readInputFile } from './files.js';

/** Where Debian's `dataset-fashion-mnist` installs the four files. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's ten classes, in label order (from its README). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The most a decompressed IDX file may hold (the 60,000 training images are 47 MB). */
const MAX_IDX_BYTES = 1 << 30;

/** An IDX file, gunzipped when it is gzip (told by its magic bytes, not its name). */
export function readIdxFile(path: string): IdxArray {
  const raw = readInputFile(path, 'IDX file');
  let bytes: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw, { maxOutputLength: MAX_IDX_BYTES });
    } catch (e) {
      const why = (e as Error).message.split('\n')[0]!;
      throw new DataError(
        `${path}: not a readable gzip file (${why.includes('unexpected end') ? 'truncated' : why})`,
      );
    }
  }
  return readIdx(bytes, path);
}

/** One split: images [N, H, W] (bytes) and their labels. */
export interface IdxSplit {
  images: IdxArray;
  labels: Uint8Array;
}

export interface IdxDataset {
  train: IdxSplit;
  test: IdxSplit;
  /** Where the files were found. */
  dir: string;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function find(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new DataError(
    `${dir}: no ${base}(.gz) (an MNIST-style IDX folder has train- and t10k- images and labels)`,
  );
}

/**
 * An MNIST-layout folder (train-/t10k- images and labels, gzipped or not): `dir`, or Debian's
 * Fashion-MNIST when none is given. Image and label counts are checked to agree.
 */
export function loadIdxDataset(dir = DEBIAN_FASHION_MNIST): IdxDataset {
  if (!existsSync(dir))
    throw new DataError(
      dir === DEBIAN_FASHION_MNIST
        ? `${dir}: Fashion-MNIST is not installed (apt install dataset-fashion-mnist, or give a folder)`
        : `${dir}: no such folder`,
    );
  const split = (which: 'train' | 'test'): IdxSplit => {
    const [imagesPath, labelsPath] = FILES[which].map((f) => find(dir, f)) as [string, string];
    const images = readIdxFile(imagesPath);
    const labels = readIdxFile(labelsPath);
    return idxImagesAndLabels(images, labels, { images: imagesPath, labels: labelsPath });
  };
  return { train: split('train'), test: split('test'), dir };
}
