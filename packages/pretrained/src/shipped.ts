// Weights that ship with Cardinal (a zoo entry's `weights`), and what a weights file says about
// its own preprocessing in its safetensors metadata.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSafetensorsHead, getZooEntry, isTorchCheckpoint, SafetensorsError } from '@cardinal/core';

/** The folder of shipped weights: `weights/` beside `src/` and `dist/` in this package. */
export const SHIPPED_WEIGHTS_DIR = fileURLToPath(new URL('../weights/', import.meta.url));

/** The path of a zoo model's shipped weights, or undefined when it ships none. */
export function shippedWeightsFile(zooName: string): string | undefined {
  const w = getZooEntry(zooName).weights;
  return w ? fileURLToPath(new URL(`../weights/${w.file}`, import.meta.url)) : undefined;
}

/**
 * A safetensors file's `__metadata__` (string to string), read from its header alone; empty for
 * a PyTorch checkpoint, a file without metadata, or a path that is not a regular file (the
 * weights reader says what is wrong with it).
 */
export function weightsMetadata(path: string): Record<string, string> {
  try {
    if (!statSync(path).isFile()) return {};
  } catch {
    return {};
  }
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    if (isTorchCheckpoint(head)) return {};
    const n = checkSafetensorsHead(head, size, path);
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(header.toString('utf8'));
    } catch {
      throw new SafetensorsError(`${path}: the safetensors header is not JSON`);
    }
    const meta = (json as { __metadata__?: unknown }).__metadata__;
    if (typeof meta !== 'object' || meta === null) return {};
    return Object.fromEntries(Object.entries(meta).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
  } finally {
    closeSync(fd);
  }
}
