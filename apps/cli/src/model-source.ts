import { existsSync } from 'node:fs';
import { type BuiltModel, buildFromJson, createModel } from '@cardinal/core';
import { CliError } from './errors.js';
import { readInputFile } from './files.js';

/** A positional `<model | config.json>`: a zoo name, or a path to a config or fixture meta.json. */
export function loadModel(
  spec: string,
  inputShape: readonly number[] | undefined,
  zooOverrides: { numClasses?: number } = {},
): BuiltModel & { label: string } {
  const looksLikeFile = spec.endsWith('.json') || spec.includes('/') || existsSync(spec);
  if (!looksLikeFile) {
    return { graph: createModel(spec, { inputShape, ...zooOverrides }), kind: 'model', label: spec };
  }
  const text = readInputFile(spec, 'config file').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${spec}: not valid JSON (${(e as Error).message})`);
  }
  const built = buildFromJson(value, { inputShape, source: spec });
  return { ...built, label: built.graph.name === 'custom' ? spec : built.graph.name };
}

/** The input shape a model source implies on its own (a fixture's input_shape), if any. */
export function declaredInputShape(spec: string): number[] | undefined {
  if (!(spec.endsWith('.json') && existsSync(spec))) return undefined;
  try {
    const v = JSON.parse(readInputFile(spec, 'config file').toString('utf8')) as { input_shape?: unknown };
    return Array.isArray(v.input_shape) ? (v.input_shape as number[]) : undefined;
  } catch {
    return undefined;
  }
}
