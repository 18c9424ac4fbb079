import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '@cardinal/core';
import { UsageError } from '@cardinal/core';
import { checkOutputPath, isFolder, writeFileAtomic } from '@cardinal/pretrained';

export interface TritonOptions {
  /** The model's name in the repository (its folder). */
  name: string;
  /** Triton's max_batch_size: the largest batch its dynamic batcher forms. */
  maxBatch?: number;
  /** Triton's dynamic batching delay, microseconds. */
  maxQueueDelayUs?: number;
  version?: number;
  /** Replace an existing version of this model. */
  force?: boolean;
  /** Files the caller read: never written. */
  inputs?: readonly (string | undefined)[];
}

/** config.pbtxt for an ONNX model of this graph (batch dimension left to Triton). */
export function tritonConfig(graph: Graph, options: TritonOptions): string {
  const dims = (name: string) => `[ ${graph.tensors[name]!.shape.slice(1).join(', ')} ]`;
  const io = (name: string) =>
    `  {\n    name: "${name}"\n    data_type: TYPE_FP32\n    dims: ${dims(name)}\n  }`;
  return [
    `name: "${options.name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${options.maxBatch ?? 8}`,
    `input [\n${graph.inputs.map((i) => io(i.name)).join(',\n')}\n]`,
    `output [\n${graph.outputs.map(io).join(',\n')}\n]`,
    `dynamic_batching {\n  max_queue_delay_microseconds: ${options.maxQueueDelayUs ?? 5000}\n}`,
    '',
  ].join('\n');
}

/**
 * Writes a model into a Triton model repository: `<dir>/<name>/config.pbtxt` and
 * `<dir>/<name>/<version>/model.onnx` (an ONNX file with a symbolic batch). Other models in
 * the repository are left alone; an existing version is never replaced without `force`.
 * Returns the paths written.
 */
export function writeTritonModel(
  dir: string,
  graph: Graph,
  onnx: Uint8Array,
  options: TritonOptions,
): string[] {
  if (!/^[\w.-]{1,128}$/.test(options.name) || options.name.startsWith('.'))
    throw new UsageError(
      `triton: '${options.name}' is not a usable model name (letters, digits, '.', '_', '-')`,
    );
  const version = options.version ?? 1;
  const modelDir = join(dir, options.name);
  const versionDir = join(modelDir, String(version));
  const files: [string, Uint8Array][] = [
    [join(modelDir, 'config.pbtxt'), new TextEncoder().encode(tritonConfig(graph, options))],
    [join(versionDir, 'model.onnx'), onnx],
  ];
  const force = options.force ?? false;
  if (!isFolder(dir)) mkdirSync(dir);
  for (const d of [modelDir, versionDir]) if (!isFolder(d)) mkdirSync(d);
  // A new version of a model already there keeps its config when it is the same.
  const todo = files.filter(([p, bytes]) => !(p.endsWith('config.pbtxt') && sameFile(p, bytes)));
  for (const [p] of todo) checkOutputPath(p, force, options.inputs);
  for (const [p, bytes] of todo) writeFileAtomic(p, bytes, force, options.inputs);
  return todo.map(([p]) => p);
}

function sameFile(path: string, bytes: Uint8Array): boolean {
  return existsSync(path) && Buffer.compare(readFileSync(path), bytes) === 0;
}
