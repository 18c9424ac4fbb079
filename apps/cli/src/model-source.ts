// The CLI's side of opening a model: the process's cost limits and download progress, and the
// inputs list every command keeps (files it reads are never written, even with --force).
// What a source is and how it opens lives in @cardinal/pretrained (ModelSource, openModel).
import { type CostLimits, type Graph, NO_COST_LIMITS, type WeightMap } from '@cardinal/core';
import {
  type FetchOptions,
  localWeights as libraryLocalWeights,
  ModelSource,
  type SourceWeightsOptions,
  sourceWeights,
} from '@cardinal/pretrained';
import { byteProgress } from './ui.js';

export { ModelSource };

/** The cost limits of this process: the defaults, or none with CARDINAL_ALLOW_LARGE=1. */
export function costLimits(): Partial<CostLimits> | undefined {
  return process.env.CARDINAL_ALLOW_LARGE === '1' ? NO_COST_LIMITS : undefined;
}

/** Downloads with a byte progress bar on terminals. */
export function fetchOptions(): FetchOptions {
  const bar = byteProgress();
  return { onProgress: (done, total, file) => bar(done, total, file) };
}

/**
 * A command that makes no weights (summary) may describe models up to 2^31 parameters (8 GiB of
 * float32) without CARDINAL_ALLOW_LARGE: timm's resnext101_32x32d (469M) among them.
 */
const DESCRIBE_ONLY: Partial<CostLimits> = { maxParams: 2 ** 31 };

/** What every command passes when it opens a source: downloads with progress, this process's limits. */
export function sourceOptions(use: 'run' | 'describe' = 'run'): {
  fetch: FetchOptions;
  limits?: Partial<CostLimits>;
} {
  const limits = costLimits() ?? (use === 'describe' ? DESCRIBE_ONLY : undefined);
  return { fetch: fetchOptions(), ...(limits ? { limits } : {}) };
}

/** A positional `<model | config.json | folder | model.onnx | hf-hub:org/name>`, opened. */
export function openSource(spec: string, use: 'run' | 'describe' = 'run'): Promise<ModelSource> {
  return ModelSource.open(spec, sourceOptions(use));
}

/** A --weights value made local (downloaded with progress, or a folder's file). */
export function localWeights(spec: string | undefined): Promise<string | undefined> {
  return libraryLocalWeights(spec, fetchOptions());
}

/**
 * A command's weights (see sourceWeights) from its --weights / --weights-key flags; the file
 * read joins the command's inputs.
 */
export async function commandWeights(
  graph: Graph,
  model: ModelSource,
  values: { weights?: string | undefined; 'weights-key'?: string | undefined; json?: boolean | undefined },
  inputs: (string | undefined)[],
  err: (s: string) => void,
  options: Pick<SourceWeightsOptions, 'seed' | 'init' | 'replaceHead' | 'folderMayLackWeights'> = {},
): Promise<{ weights: WeightMap; initialised: boolean }> {
  const { weights, file } = await sourceWeights(graph, model, {
    ...options,
    ...(values.weights ? { weights: values.weights } : {}),
    ...(values['weights-key'] ? { weightsKey: values['weights-key'] } : {}),
    ...(values.json ? {} : { note: err }),
    fetch: fetchOptions(),
  });
  inputs.push(file);
  // No file read and none carried by the model (an .onnx file's initializers): an initialisation.
  return { weights, initialised: file === undefined && !model.embeddedWeights };
}
