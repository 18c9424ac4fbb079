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
  /** timm's features_only maps (`features.safetensors`), when the fixture has them. */
  features?: FixtureFeatures;
}

/** A fixture's feature maps and how they pass: `feature.<i>` per out index, each with its atol. */
export interface FixtureFeatures {
  path: string;
  outIndices: number[];
  keys: string[];
  atol: number[];
  featureInfo: { module: string; num_chs: number; reduction: number }[];
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
 * timm's wider variants (ECA, anti-aliasing, ResNet-RS, GroupNorm, ... and the feature maps):
 * $CARDINAL_FIXTURES_TIMM, else `fixtures-timm` beside the shared fixtures when
 * $CARDINAL_FIXTURES is unset (a held-out folder set there stands alone). Named `timm/<name>`.
 */
export function timmFixturesDir(): string | undefined {
  const env = process.env.CARDINAL_FIXTURES_TIMM;
  if (env) return resolve(env);
  if (process.env.CARDINAL_FIXTURES) return undefined;
  const dir = join(fixturesDir(), '..', 'fixtures-timm');
  return existsSync(dir) ? resolve(dir) : undefined;
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

/**
 * The shared fixtures' names, then timm's variants as `timm/<name>`, then the extra ones as
 * `extra/<name>`; or one of the three sets.
 */
export function listFixtures(which: 'all' | 'shared' | 'timm' | 'extra' = 'all'): string[] {
  const timmDir = timmFixturesDir();
  const sets = {
    shared: () => listDir(fixturesDir()),
    timm: () => (timmDir ? listDir(timmDir).map((n) => `timm/${n}`) : []),
    extra: () => listDir(extraFixturesDir()).map((n) => `extra/${n}`),
  };
  return which === 'all' ? [...sets.shared(), ...sets.timm(), ...sets.extra()] : sets[which]();
}

export function fixturePath(name: string): string {
  if (name.startsWith('extra/')) return join(extraFixturesDir(), name.slice(6));
  if (name.startsWith('timm/')) {
    const dir = timmFixturesDir();
    if (!dir) throw new FileError(`${name}: no fixtures-timm folder (set CARDINAL_FIXTURES_TIMM)`);
    return join(dir, name.slice(5));
  }
  return join(fixturesDir(), name);
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
    ...(existsSync(join(dir, 'features.safetensors')) ? { features: featuresOf(dir, meta) } : {}),
  };
}

function featuresOf(dir: string, meta: FixtureMeta): FixtureFeatures {
  const f = meta.features as { out_indices: number[]; keys: string[]; atol: number[] };
  return {
    path: join(dir, 'features.safetensors'),
    outIndices: f.out_indices,
    keys: f.keys,
    atol: f.atol,
    featureInfo: meta.feature_info as FixtureFeatures['featureInfo'],
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
