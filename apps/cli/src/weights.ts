import { type Graph, initWeights, loadSafetensorsWeights, type WeightMap } from '@cardinal/core';
import { readInputFile } from './files.js';

/**
 * The weights a command runs with: a safetensors file loaded strictly by state_dict name, or,
 * without one, the deterministic initialisation (with a note, unless quiet).
 */
export function weightsFor(
  graph: Graph,
  path: string | undefined,
  note?: (s: string) => void,
  seed = 0,
): WeightMap {
  if (path)
    return loadSafetensorsWeights(graph, readInputFile(path, 'weights file'), { source: path }).weights;
  note?.('note: no --weights given; using a deterministic initialisation');
  return initWeights(graph, seed);
}
