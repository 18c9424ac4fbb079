import {
  checkSafetensorsHead,
  type Graph,
  isTorchCheckpoint,
  type LoadedTensor,
  loadWeights,
  readSafetensors,
  readTorchCheckpoint,
  type WeightMap,
} from '@cardinal/core';
import { readInputFileAsync } from './files.js';

export interface WeightsFileOptions {
  /** The wrapper key of a checkpoint that holds several state dicts (`state_dict`, `model_ema`, ...). */
  weightsKey?: string;
  /** Receives what the reader did on the user's behalf: the wrapper key used, a `module.` prefix stripped. */
  note?: (line: string) => void;
}

/**
 * Reads a weights file by content, not by name: a PyTorch checkpoint (torch.save's zip or
 * legacy format: .pth, .pt, .bin) or safetensors. Returns the tensors by state_dict key. A
 * safetensors header length is checked against the file before the file is read whole.
 */
export async function readWeightsFile(
  path: string,
  options: WeightsFileOptions = {},
): Promise<Map<string, LoadedTensor>> {
  const bytes = await readInputFileAsync(path, 'weights file', {
    bytes: 8,
    check: (head, size) => {
      if (!isTorchCheckpoint(head)) checkSafetensorsHead(head, size, path);
    },
  });
  if (isTorchCheckpoint(bytes)) {
    const ckpt = readTorchCheckpoint(bytes, { source: path, weightsKey: options.weightsKey });
    for (const n of ckpt.notes) options.note?.(`note: ${path}: ${n}`);
    return ckpt.tensors;
  }
  if (options.weightsKey !== undefined)
    options.note?.(`note: --weights-key is for PyTorch checkpoints; ${path} is safetensors`);
  return readSafetensors(bytes, path);
}

/**
 * Loads a weights file into a graph, strictly by state_dict key: a missing, unexpected or
 * mis-shaped key is an error that lists them (the key report).
 */
export async function loadWeightsFile(
  graph: Graph,
  path: string,
  options: WeightsFileOptions = {},
): Promise<WeightMap> {
  return loadWeights(graph, await readWeightsFile(path, options), { source: path }).weights;
}
