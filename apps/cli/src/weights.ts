import {
  checkSafetensorsHead,
  type Graph,
  initTestWeights,
  initWeights,
  isTorchCheckpoint,
  loadSafetensorsWeights,
  loadWeights,
  readTorchCheckpoint,
  type WeightMap,
} from '@cardinal/core';
import { readInputFile } from './files.js';

export interface WeightsSource {
  /** --weights: a safetensors file or a PyTorch checkpoint. */
  path?: string;
  /** --weights-key: the wrapper key of a checkpoint that holds several state dicts. */
  weightsKey?: string;
  /** Where notes go (the wrapper key used, a prefix stripped, the initialisation); none when quiet. */
  note?: (s: string) => void;
  seed?: number;
  init?: 'test' | 'train';
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
  { path, weightsKey, note, seed = 0, init = 'test' }: WeightsSource = {},
): WeightMap {
  if (path) {
    // A safetensors header length is checked before the file is read whole.
    const bytes = readInputFile(path, 'weights file', {
      bytes: 8,
      check: (head, size) => {
        if (!isTorchCheckpoint(head)) checkSafetensorsHead(head, size, path);
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
