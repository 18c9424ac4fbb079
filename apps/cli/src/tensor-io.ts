import { extname } from 'node:path';
import { readNpy, readRawF32, type Tensor, writeNpy } from '@cardinal/core';
import { readInputFile, writeFileAtomic } from '@cardinal/pretrained';
import { CliError, UsageError } from './errors.js';

/** Reads `.npy` (any float/int dtype, converted) or raw float32 `.bin` with an explicit shape. */
export function readTensorFile(path: string, shape: number[] | undefined): Tensor {
  const ext = extname(path).toLowerCase();
  const bytes = readInputFile(path, 'input file');
  if (ext === '.npy') {
    const t = readNpy(bytes, path);
    if (shape && shape.join(',') !== t.shape.join(',')) {
      throw new CliError(
        `${path}: --shape ${shape.join(',')} does not match the .npy shape ${t.shape.join(',')}`,
      );
    }
    return t;
  }
  if (!shape) throw new UsageError(`${path}: a raw ${ext || 'binary'} input needs --shape N,C,H,W`);
  return readRawF32(bytes, shape, path);
}

export function outputFormat(path: string): 'npy' | 'bin' {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return 'npy';
  if (ext === '.bin') return 'bin';
  throw new UsageError(`${path}: output must end in .npy or .bin`);
}

export function writeTensorFile(
  path: string,
  t: Tensor,
  force: boolean,
  inputs: readonly (string | undefined)[] = [],
): void {
  const bytes =
    outputFormat(path) === 'npy'
      ? writeNpy(t)
      : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  writeFileAtomic(path, bytes, force, inputs);
}
