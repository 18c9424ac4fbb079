import { formatShape, type MismatchedKey, WeightLoadError, type WeightReport } from '../errors.js';
import type { Graph, WeightMap } from '../ir/graph.js';
import { shapesEqual, type Tensor } from '../tensor.js';
import { initParam } from './init.js';
import { readSafetensors, type TensorToWrite, writeSafetensors } from './safetensors.js';

export interface LoadWeightsOptions {
  /** Throw on any missing, unexpected or mis-shaped key (default true), like PyTorch's strict load. */
  strict?: boolean;
  /** Seed for parameters left to initialisation when not strict. */
  seed?: number;
}

export interface LoadedWeights {
  weights: WeightMap;
  report: WeightReport;
}

/** Keys that may be absent: they carry no value inference needs. */
function isOptionalKey(key: string): boolean {
  return key.endsWith('.num_batches_tracked') || key === 'num_batches_tracked';
}

function describeReport(report: WeightReport, source: string): string {
  const parts: string[] = [];
  const list = (keys: string[]) =>
    keys.slice(0, 8).join(', ') + (keys.length > 8 ? `, ... (${keys.length - 8} more)` : '');
  if (report.missing.length) parts.push(`${report.missing.length} missing: ${list(report.missing)}`);
  if (report.unexpected.length)
    parts.push(`${report.unexpected.length} unexpected: ${list(report.unexpected)}`);
  if (report.mismatched.length) {
    const m = report.mismatched.map(
      (k) => `${k.key} (expected ${formatShape(k.expected)}, got ${formatShape(k.got)})`,
    );
    parts.push(`${report.mismatched.length} mis-shaped: ${list(m)}`);
  }
  return `${source}: weights do not match the graph: ${parts.join('; ')}`;
}

/**
 * Matches tensors to the graph's parameters by state_dict key and reports every missing,
 * unexpected and mis-shaped key. Not strict: what is missing or mis-shaped is initialised.
 */
export function loadWeights(
  graph: Graph,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  options: LoadWeightsOptions & { source?: string } = {},
): LoadedWeights {
  const strict = options.strict ?? true;
  const report: WeightReport = { missing: [], unexpected: [], mismatched: [] };
  const weights: WeightMap = new Map();
  for (const [key, spec] of Object.entries(graph.params)) {
    const t = tensors.get(key);
    if (!t) {
      if (!isOptionalKey(key)) report.missing.push(key);
      weights.set(key, initParam(key, spec, options.seed));
      continue;
    }
    if (!shapesEqual(t.shape, spec.shape)) {
      const m: MismatchedKey = { key, expected: [...spec.shape], got: [...t.shape] };
      report.mismatched.push(m);
      weights.set(key, initParam(key, spec, options.seed));
      continue;
    }
    weights.set(key, { shape: [...spec.shape], data: t.data });
  }
  for (const key of tensors.keys()) {
    if (!Object.hasOwn(graph.params, key)) report.unexpected.push(key);
  }
  const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && bad > 0)
    throw new WeightLoadError(describeReport(report, options.source ?? 'weights'), report);
  return { weights, report };
}

/** Reads safetensors bytes and loads them into the graph (see loadWeights). */
export function loadSafetensorsWeights(
  graph: Graph,
  bytes: Uint8Array,
  options: LoadWeightsOptions & { source?: string } = {},
): LoadedWeights {
  return loadWeights(graph, readSafetensors(bytes, options.source), options);
}

/** The graph's weights as a PyTorch-compatible state_dict in safetensors form. */
export function saveWeights(
  graph: Graph,
  weights: WeightMap,
  metadata: Record<string, string> = {},
): Uint8Array {
  const tensors: TensorToWrite[] = [];
  for (const [key, spec] of Object.entries(graph.params)) {
    const t: Tensor | undefined = weights.get(key);
    if (!t) continue;
    tensors.push({
      name: key,
      shape: spec.shape,
      dtype: spec.dtype === 'int64' ? 'I64' : 'F32',
      data: t.data,
    });
  }
  return writeSafetensors(tensors, { format: 'pt', ...metadata });
}
