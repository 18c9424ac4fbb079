import {
  type CostLimits,
  type Graph,
  InputError,
  type PreprocessConfig,
  type PreprocessOrigin,
  type PreprocessSources,
  resolvePreprocess,
  type WeightMap,
} from '@cardinal/core';
import type { FetchOptions } from './hub.js';
import { localWeights, ModelSource } from './model-source.js';
import { sourceWeights, storedTraining, type WeightsSource } from './model-weights.js';

export interface OpenModelOptions extends Pick<WeightsSource, 'weightsKey' | 'note' | 'seed' | 'init'> {
  /** A weights file (.pth, .bin, .safetensors, .onnx), a model folder, an https URL or `hf-hub:` name; default: the source's own. */
  weights?: string;
  /** The batch of the graph's input (default 1; backends run any batch unless compiled `batch: 'fixed'`). */
  batch?: number;
  /** The caller's transform choices (input size, interpolation, crop, mean, std), over what the weights and model say. */
  preprocess?: Partial<Omit<PreprocessConfig, 'channels'>>;
  /** Class names, over those stored with the weights or declared by the model. */
  labels?: readonly string[];
  /** Where `labels` came from (a file), named when they do not fit the model. */
  labelsSource?: string;
  /** Downloads (hf-hub, URLs): progress, cache, offline. */
  fetch?: FetchOptions;
  /** Cost limits over the defaults (`NO_COST_LIMITS` lifts them). */
  limits?: Partial<CostLimits>;
}

/** What a model is, in words and facts, for logs, metadata and the CLI. */
export interface ModelDescription {
  /** The model's name: a zoo name, a config's graph name, a file's given path. */
  name: string;
  /** A name usable in URLs and repositories (the last path part, without .json or .onnx). */
  shortName: string;
  source: 'zoo' | 'config' | 'folder' | 'onnx' | 'graph';
  /** Where the weights came from: a file, the .onnx model's own initializers, or the initialisation. */
  weights: 'file' | 'embedded' | 'initialised';
  /** Which rule gave the transform (see resolvePreprocess). */
  preprocessFrom: PreprocessOrigin;
}

/** A model ready to compile on any backend, with everything needed to feed it images. */
export interface OpenedModel {
  graph: Graph;
  weights: WeightMap;
  /** The transform its weights were made with. */
  preprocess: PreprocessConfig;
  labels?: readonly string[];
  description: ModelDescription;
  /** Every file read (config, weights): inputs a caller must never write. */
  files: string[];
  /** The source itself, for what else a caller asks of it (its declared input shape, its timm config). */
  source: ModelSource;
}

/**
 * Opens a model from any source the CLI takes, as timm's create_model plus resolve_data_config
 * do: a zoo name, a config or fixture meta.json, a graph document, a timm/HF model folder, an
 * `hf-hub:` name or an .onnx file; with its weights (the given file, else the folder's own or
 * the zoo entry's shipped ones, else the initialisation), the transform they were made with
 * (stored normalisation first, then the model's declared one, then the defaults), and labels.
 */
export async function openModel(
  from: string | ModelSource,
  options: OpenModelOptions = {},
): Promise<OpenedModel> {
  // A source the caller already opened (to ask it something first) is not read again.
  const source =
    typeof from === 'string'
      ? await ModelSource.open(from, {
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.limits ? { limits: options.limits } : {}),
        })
      : from;
  const spec = source.spec;
  const weightsFile = (await localWeights(options.weights, options.fetch)) ?? source.defaultWeights();
  const trained = storedTraining(weightsFile);
  const { config: preprocess, origin } = sourcePreprocess(source, {
    ...(trained.normalisation ? { stored: trained.normalisation, storedIn: weightsFile } : {}),
    ...(options.preprocess ? { overrides: options.preprocess } : {}),
  });
  const { graph, label } = source.load([options.batch ?? 1, preprocess.channels, ...preprocess.inputSize]);
  const classes = graph.tensors[graph.outputs[0]!]!.shape[1];
  const labels = options.labels ?? trained.classes ?? source.pretrained()?.labelNames;
  if (labels && labels.length !== classes)
    throw new InputError(
      `${(options.labels && options.labelsSource) || spec}: ${labels.length} labels for a model of ${classes} classes`,
    );
  const { weights, file } = await sourceWeights(graph, source, {
    ...(weightsFile ? { weights: weightsFile } : {}),
    ...(options.weightsKey ? { weightsKey: options.weightsKey } : {}),
    ...(options.note ? { note: options.note } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.init ? { init: options.init } : {}),
  });
  return {
    graph,
    weights,
    preprocess,
    ...(labels ? { labels } : {}),
    description: {
      name: label,
      shortName: ModelSource.shortName(label),
      source: sourceKind(source),
      weights: file ? 'file' : source.embeddedWeights ? 'embedded' : 'initialised',
      preprocessFrom: origin,
    },
    files: [...new Set([...source.files, ...(file ? [file] : [])])],
    source,
  };
}

/** The image channels a source's model takes: 1 or 3, else the model cannot be fed images. */
export function imageChannels(source: ModelSource): 1 | 3 {
  const c = source.declaredInputShape()?.[1] ?? source.load(undefined).graph.inputs[0]!.shape[1]!;
  if (c !== 1 && c !== 3)
    throw new InputError(`${source.spec}: images have 1 or 3 channels, the model takes ${c}`);
  return c;
}

/**
 * A source's transform by core's resolvePreprocess: its image channels, its declared input size
 * and timm transform, with the weights' stored normalisation and the caller's overrides given.
 */
export function sourcePreprocess(
  source: ModelSource,
  given: Pick<PreprocessSources, 'stored' | 'storedIn' | 'overrides'> = {},
): ReturnType<typeof resolvePreprocess> {
  const d = source.declaredInputShape();
  const pretrained = source.pretrained();
  return resolvePreprocess({
    channels: imageChannels(source),
    ...(d && d.length === 4 ? { inputSize: [d[2]!, d[3]!] as [number, number] } : {}),
    ...(pretrained ? { declared: pretrained.preprocess } : {}),
    ...given,
  });
}

function sourceKind(source: ModelSource): ModelDescription['source'] {
  if (source.folder) return 'folder';
  if (source.isOnnx) return 'onnx';
  if (source.isGraphDocument) return 'graph';
  return source.isFile ? 'config' : 'zoo';
}
