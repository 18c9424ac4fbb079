import { existsSync } from 'node:fs';
import {
  type BuiltModel,
  buildFromJson,
  type CostLimits,
  createModel,
  NO_COST_LIMITS,
  parseInputShape,
  printable,
} from '@cardinal/core';
import { CliError } from './errors.js';
import { readInputFile } from './files.js';

/** The cost limits of this process: the defaults, or none with CARDINAL_ALLOW_LARGE=1. */
export function costLimits(): Partial<CostLimits> | undefined {
  return process.env.CARDINAL_ALLOW_LARGE === '1' ? NO_COST_LIMITS : undefined;
}

/** Whether a positional `<model | config.json>` names a file rather than a zoo entry. */
function isModelFile(spec: string): boolean {
  return spec.endsWith('.json') || spec.includes('/') || existsSync(spec);
}

/** Configs are small; a "config" of more than this is not one (and is not read whole). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

function readJson(spec: string): unknown {
  const bytes = readInputFile(spec, 'config file', {
    bytes: 0,
    check: (_head, size) => {
      if (size > MAX_CONFIG_BYTES)
        throw new CliError(
          `${spec}: ${size} bytes is too large for a config file (at most ${MAX_CONFIG_BYTES})`,
        );
    },
  });
  // A weights or tensor file given as the model: say so instead of quoting binary at the user.
  if (bytes.includes(0))
    throw new CliError(
      `${spec}: not a JSON config (binary content; weights go with --weights, tensors with --input)`,
    );
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new CliError(`${spec}: not valid JSON (${printable((e as Error).message)})`);
  }
}

/**
 * A positional `<model | config.json>`: a zoo name, or a path to a config or fixture meta.json.
 * A file is read and parsed once, on first use, however many times a command asks about it
 * (its declared input shape, then the model).
 */
export class ModelSource {
  readonly isFile: boolean;
  private parsed: { value: unknown } | undefined;

  constructor(readonly spec: string) {
    this.isFile = isModelFile(spec);
  }

  private json(): unknown {
    this.parsed ??= { value: readJson(this.spec) };
    return this.parsed.value;
  }

  /**
   * The input shape the source declares on its own (a meta.json's input_shape), validated by the
   * one reader core uses; undefined for zoo names and configs without one.
   */
  declaredInputShape(): number[] | undefined {
    if (!this.isFile) return undefined;
    const v = this.json();
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, 'input_shape'))
      return undefined;
    return parseInputShape((v as { input_shape: unknown }).input_shape, this.spec);
  }

  /** Builds the model for an input shape (the cost limits of this process apply). */
  load(
    inputShape: readonly number[] | undefined,
    zooOverrides: { numClasses?: number } = {},
  ): BuiltModel & { label: string } {
    const limits = costLimits();
    if (!this.isFile) {
      const graph = createModel(this.spec, { inputShape, limits, ...zooOverrides });
      return { graph, kind: 'model', label: this.spec };
    }
    const built = buildFromJson(this.json(), { inputShape, source: this.spec, limits });
    return { ...built, label: built.graph.name === 'custom' ? this.spec : built.graph.name };
  }
}
