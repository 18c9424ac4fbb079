import { extname } from 'node:path';
import {
  type ChannelNormalisation,
  type Graph,
  initTestWeights,
  initWeights,
  loadWeights,
  storedClasses,
  storedNormalisation,
  type WeightMap,
} from '@cardinal/core';
import { readInputFile } from './files.js';
import type { FetchOptions } from './hub.js';
import { localWeights, type ModelSource } from './model-source.js';
import { weightsMetadata } from './shipped.js';
import { loadWeightsFile, readWeightsFile } from './weights-file.js';

export interface WeightsSource {
  /** --weights: a safetensors file, a PyTorch checkpoint (already fetched when it was a URL), or an .onnx file's initializers. */
  path?: string;
  /** --weights-key: the wrapper key of a checkpoint that holds several state dicts. */
  weightsKey?: string;
  /** Where notes go (the wrapper key used, a prefix stripped, the initialisation); none when quiet. */
  note?: (s: string) => void;
  seed?: number;
  init?: 'test' | 'train';
  /** Fine-tuning: these keys (the classifier) start from the initialisation; the file's are dropped (said in a note). */
  replaceHead?: readonly string[];
}

/**
 * The weights a command runs with: a weights file (see loadWeightsFile) or, without one, a
 * deterministic initialisation (with a note, unless quiet). `init: 'test'` (for run and export)
 * gives every BatchNorm random statistics so that every block changes the output; `init:
 * 'train'` keeps timm's training init (the last BatchNorm of each block zeroed).
 */
export async function weightsFor(
  graph: Graph,
  { path, weightsKey, note, seed = 0, init = 'test', replaceHead }: WeightsSource = {},
): Promise<WeightMap> {
  if (path && replaceHead?.length && extname(path).toLowerCase() !== '.onnx') {
    const file = new Map(await readWeightsFile(path, { weightsKey, note }));
    const fresh = init === 'test' ? initTestWeights(graph, seed) : initWeights(graph, seed);
    const dropped = replaceHead
      .filter((k) => file.has(k))
      .map((k) => `${k} [${file.get(k)!.shape.join(', ')}]`);
    for (const k of replaceHead) file.set(k, fresh.get(k)! as never);
    note?.(
      `note: ${path}: a new head for this data: ${dropped.length ? `dropped ${dropped.join(', ')}` : 'the file had none'}; ${replaceHead.join(', ')} start from the initialisation`,
    );
    return loadWeights(graph, file as never, { source: path }).weights;
  }
  if (path && extname(path).toLowerCase() === '.onnx') {
    // An .onnx file's initializers, named by module path as the importer names them (backend-onnx's
    // runtime-free subpath, an optional peer of this package).
    const { importOnnx } = await import('@cardinal/backend-onnx/export');
    const imported = importOnnx(readInputFile(path, 'ONNX model'), { source: path });
    return loadWeights(graph, imported.weights, { source: path }).weights;
  }
  if (path) return loadWeightsFile(graph, path, { weightsKey, note });
  note?.(
    init === 'test'
      ? 'note: no --weights given; using a deterministic random initialisation (random BatchNorm statistics)'
      : 'note: no --weights given; starting from the training initialisation',
  );
  return init === 'test' ? initTestWeights(graph, seed) : initWeights(graph, seed);
}

/** Where a model's weights come from when they are not the model's own default. */
export interface SourceWeightsOptions
  extends Pick<WeightsSource, 'weightsKey' | 'note' | 'seed' | 'init' | 'replaceHead'> {
  /** A weights file, folder, https URL or `hf-hub:` name; default: the source's own. */
  weights?: string;
  /** Downloads of `weights`. */
  fetch?: FetchOptions;
  /** A folder without weights starts from the initialisation instead of being refused (fine-tuning). */
  folderMayLackWeights?: boolean;
}

/**
 * A model's weights: `weights` made local (downloaded, or a folder's file), else the model
 * folder's own or a zoo entry's shipped file, else the initialisation; an .onnx model's own
 * initializers unless `weights` replaces them. Returns the file read, if any (an input, never
 * to be written).
 */
export async function sourceWeights(
  graph: Graph,
  model: ModelSource,
  options: SourceWeightsOptions = {},
): Promise<{ weights: WeightMap; file: string | undefined }> {
  const { weights: spec, fetch, folderMayLackWeights, ...rest } = options;
  if (!spec && model.embeddedWeights) return { weights: model.embeddedWeights, file: undefined };
  const file =
    (await localWeights(spec, fetch)) ?? (folderMayLackWeights ? model.weightsFile : model.defaultWeights());
  return { weights: await weightsFor(graph, { ...rest, ...(file ? { path: file } : {}) }), file };
}

/**
 * What `cardinal train` stored with a weights file (safetensors): the normalisation it trained
 * with and the class names; nothing for other files.
 */
export function storedTraining(path: string | undefined): {
  normalisation?: ChannelNormalisation;
  classes?: string[];
} {
  if (!path || extname(path).toLowerCase() !== '.safetensors') return {};
  const meta = weightsMetadata(path);
  const normalisation = storedNormalisation(meta, path);
  const classes = storedClasses(meta);
  return { ...(normalisation ? { normalisation } : {}), ...(classes ? { classes } : {}) };
}
