import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildPretrained,
  type CostLimits,
  FileError,
  type Graph,
  type PreprocessConfig,
  type PretrainedConfig,
  parsePretrainedConfig,
  pretrainedConfigJson,
  type ResolvedConfig,
  saveWeights,
  type WeightMap,
} from '@cardinal/core';
import { checkOutputPath, isFile, isFolder, readJsonFile, writeFileAtomic } from './files.js';
import { loadWeightsFile } from './weights-file.js';

/** The weights files of a timm model folder, in the order timm's loader tries them. */
export const FOLDER_WEIGHT_FILES = ['model.safetensors', 'pytorch_model.bin'] as const;

/** A model folder located: its config read and checked, its weights file found (not read). */
export interface ModelFolder {
  dir: string;
  configFile: string;
  config: PretrainedConfig;
  /** model.safetensors, else pytorch_model.bin; undefined when the folder has neither. */
  weightsFile?: string;
}

/** Reads a timm model folder's config.json and finds its weights file. */
export function readModelFolder(dir: string): ModelFolder {
  const configFile = join(dir, 'config.json');
  if (!isFile(configFile))
    throw new FileError(
      `${dir}: not a model folder (no config.json; timm's layout is config.json + model.safetensors)`,
    );
  const config = parsePretrainedConfig(readJsonFile(configFile, 'config file'), configFile);
  const weightsFile = FOLDER_WEIGHT_FILES.map((f) => join(dir, f)).find(isFile);
  return { dir, configFile, config, ...(weightsFile ? { weightsFile } : {}) };
}

export interface LoadFolderOptions {
  /** [N, C, H, W]; default [1, C, H, W] from pretrained_cfg.input_size. */
  inputShape?: readonly number[];
  limits?: Partial<CostLimits>;
  note?: (line: string) => void;
}

export interface LoadedModel {
  graph: Graph;
  weights: WeightMap;
  config: PretrainedConfig;
  /** The files read: config.json and the weights file. */
  files: string[];
}

/**
 * Loads a timm model folder (Hugging Face layout): config.json (architecture, num_classes,
 * pretrained_cfg, model_args, label_names) and model.safetensors or pytorch_model.bin, strictly
 * by state_dict key.
 */
export async function loadModelFolder(dir: string, options: LoadFolderOptions = {}): Promise<LoadedModel> {
  const folder = readModelFolder(dir);
  if (!folder.weightsFile)
    throw new FileError(`${dir}: no weights in the folder (expected ${FOLDER_WEIGHT_FILES.join(' or ')})`);
  const graph = buildPretrained(folder.config, {
    inputShape: options.inputShape,
    limits: options.limits,
  });
  const weights = await loadWeightsFile(graph, folder.weightsFile, { note: options.note });
  return { graph, weights, config: folder.config, files: [folder.configFile, folder.weightsFile] };
}

export interface SaveFolderOptions {
  /** Replace files already in the folder (never a path in `inputs`). */
  force?: boolean;
  /** Files the caller read: never written, even with `force`. */
  inputs?: readonly (string | undefined)[];
}

/**
 * Writes a model as a timm model folder: config.json (the keys timm's loader reads) and
 * model.safetensors (timm's state_dict names). The folder is created if missing (its parent
 * must exist); a file already in it is refused without `force`, before anything is written.
 * Returns the paths written.
 */
export function saveModelFolder(
  dir: string,
  model: {
    graph: Graph;
    weights: WeightMap;
    resnet: ResolvedConfig;
    preprocess: PreprocessConfig;
    labelNames?: readonly string[];
  },
  options: SaveFolderOptions = {},
): string[] {
  const force = options.force ?? false;
  const inputs = options.inputs ?? [];
  const json = pretrainedConfigJson(model.resnet, model.preprocess, {
    labelNames: model.labelNames,
    numFeatures: featureCount(model.graph),
  });
  const config = new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`);
  const weights = saveWeights(model.graph, model.weights);
  if (!isFolder(dir)) {
    try {
      mkdirSync(dir);
    } catch (e) {
      throw new FileError(`${dir}: cannot create the folder (${(e as Error).message.split(':')[0]})`);
    }
  }
  const files: [string, Uint8Array][] = [
    [join(dir, 'config.json'), config],
    [join(dir, 'model.safetensors'), weights],
  ];
  // Every target is checked before the first is written: a refusal leaves the folder as it was.
  for (const [path] of files) checkOutputPath(path, force, inputs);
  for (const [path, bytes] of files) writeFileAtomic(path, bytes, force, inputs);
  return files.map(([p]) => p);
}

/** Channels of the pooled features (timm's num_features): the input width of `fc`. */
function featureCount(graph: Graph): number | undefined {
  const fc = graph.params['fc.weight'];
  return fc?.shape[1];
}
