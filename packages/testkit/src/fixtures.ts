import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BuiltModel,
  buildFromJson,
  FileError,
  readRawF32,
  readSafetensors,
  type Tensor,
} from '@cardinal/core';

/** What a fixture's meta.json says about tolerance (see the fixtures README's pass rule). */
export interface FixtureMeta {
  model: string;
  kind: 'model' | 'block';
  family?: string;
  config: Record<string, unknown>;
  input_shape: number[];
  output_shape: number[];
  num_params?: number;
  tolerance_hint: { atol: number; max_abs_output?: number; float64_max_abs_diff?: number };
  [key: string]: unknown;
}

export interface Fixture {
  name: string;
  dir: string;
  meta: FixtureMeta;
  input: Tensor;
  expected: Tensor;
  weightsPath: string;
  atol: number;
  hasTrain: boolean;
}

/**
 * The fixtures folder: $CARDINAL_FIXTURES, else `shared/fixtures` beside the checkout
 * (found by walking up from this file and from the working directory).
 */
export function fixturesDir(): string {
  const env = process.env.CARDINAL_FIXTURES;
  if (env) return resolve(env);
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, '..', 'shared', 'fixtures');
      if (existsSync(join(dir, 'pnpm-workspace.yaml')) && existsSync(candidate)) return resolve(candidate);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new FileError('fixtures not found: put shared/fixtures beside the checkout or set CARDINAL_FIXTURES');
}

/**
 * Extra cases shipped with the testkit, made by timm (tools/fixtures/gen_extra_fixtures.py):
 * odd and non-square inputs, dilated stages, the stem variants. Named `extra/<name>`.
 */
export function extraFixturesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures-extra');
}

function listDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'meta.json')))
    .map((e) => e.name)
    .sort();
}

/** The shared fixtures' names, then the extra ones as `extra/<name>` (unless `shared` only). */
export function listFixtures(which: 'all' | 'shared' | 'extra' = 'all'): string[] {
  const shared = which === 'extra' ? [] : listDir(fixturesDir());
  const extra = which === 'shared' ? [] : listDir(extraFixturesDir()).map((n) => `extra/${n}`);
  return [...shared, ...extra];
}

export function fixturePath(name: string): string {
  return name.startsWith('extra/') ? join(extraFixturesDir(), name.slice(6)) : join(fixturesDir(), name);
}

export function loadFixture(name: string): Fixture {
  const dir = fixturePath(name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as FixtureMeta;
  return {
    name,
    dir,
    meta,
    input: readRawF32(readFileSync(join(dir, 'input.bin')), meta.input_shape, `${name}/input.bin`),
    expected: readRawF32(readFileSync(join(dir, 'output.bin')), meta.output_shape, `${name}/output.bin`),
    weightsPath: join(dir, 'weights.safetensors'),
    atol: meta.tolerance_hint.atol,
    hasTrain: existsSync(join(dir, 'train', 'meta.json')),
  };
}

/** The fixture's architecture built from its meta.json, for the fixture's input shape. */
export function buildFixtureGraph(
  f: Fixture,
  inputShape: readonly number[] = f.meta.input_shape,
): BuiltModel {
  return buildFromJson(f.meta, { inputShape, source: `${f.name}/meta.json` });
}

export function readFixtureWeights(f: Fixture) {
  return readSafetensors(readFileSync(f.weightsPath), `${f.name}/weights.safetensors`);
}
