import {
  type Graph,
  initTestWeights,
  initWeights,
  isTorchCheckpoint,
  loadSafetensorsWeights,
  loadWeights,
  MAX_HEADER_BYTES,
  readTorchCheckpoint,
  SafetensorsError,
  type WeightMap,
} from '@cardinal/core';
import { readInputFile } from './files.js';

/** Refuses a safetensors file whose 8-byte header length is beyond the file, before reading it whole. */
function safetensorsHead(path: string) {
  return {
    bytes: 8,
    check(head: Uint8Array, size: number) {
      if (head.byteLength < 8)
        throw new SafetensorsError(
          `${path}: truncated file: ${size} bytes, the 8-byte header length is missing`,
        );
      const len = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
      if (len > BigInt(size - 8))
        throw new SafetensorsError(
          `${path}: header length ${len} is beyond the end of the file (${size} bytes)`,
        );
      if (len > BigInt(MAX_HEADER_BYTES))
        throw new SafetensorsError(
          `${path}: header length ${len} exceeds the ${MAX_HEADER_BYTES}-byte limit`,
        );
    },
  };
}

/**
 * The weights a command runs with: a safetensors file or a PyTorch checkpoint (torch.save's
 * zip or legacy format, found by content) loaded strictly by state_dict name, or,
 * without one, a deterministic initialisation (with a note, unless quiet). `init: 'test'` (for
 * run and export) gives every BatchNorm random statistics so that every block changes the
 * output; `init: 'train'` keeps timm's training init (the last BatchNorm of each block zeroed).
 */
export function weightsFor(
  graph: Graph,
  path: string | undefined,
  note?: (s: string) => void,
  seed = 0,
  init: 'test' | 'train' = 'test',
  weightsKey?: string,
): WeightMap {
  if (path) {
    // A safetensors header length is checked before the file is read whole.
    const bytes = readInputFile(path, 'weights file', {
      bytes: 8,
      check: (head, size) => {
        if (!isTorchCheckpoint(head)) safetensorsHead(path).check(head, size);
      },
    });
    // By content, not by name: a torch.save file (.pth/.pt/.bin) or safetensors.
    if (isTorchCheckpoint(bytes)) {
      const ckpt = readTorchCheckpoint(bytes, { source: path, weightsKey });
      for (const n of ckpt.notes) note?.(`note: ${path}: ${n}`);
      return loadWeights(graph, ckpt.tensors, { source: path }).weights;
    }
    if (weightsKey !== undefined)
      note?.(`note: --weights-key is for PyTorch checkpoints; ${path} is safetensors`);
    return loadSafetensorsWeights(graph, bytes, { source: path }).weights;
  }
  note?.(
    init === 'test'
      ? 'note: no --weights given; using a deterministic random initialisation (random BatchNorm statistics)'
      : 'note: no --weights given; starting from the training initialisation',
  );
  return init === 'test' ? initTestWeights(graph, seed) : initWeights(graph, seed);
}
