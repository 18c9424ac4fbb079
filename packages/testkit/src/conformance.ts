import { readFileSync } from 'node:fs';
import { type Backend, buildFromJson, loadWeights, readSafetensors, ShapeError } from '@cardinal/core';
import { type Comparison, compareToExpected } from './compare.js';
import {
  buildFixtureGraph,
  type Fixture,
  listFixtures,
  loadFixture,
  readFixtureWeights,
} from './fixtures.js';

export interface ConformanceResult extends Comparison {
  fixture: string;
  /** Each feature map against `feature.<i>` (fixtures with features.safetensors), with its atol. */
  features: (Comparison & { key: string })[];
}

/** Runs one fixture on a backend: build from meta.json, load weights strictly, run, compare. */
export async function runFixture<O extends object>(
  backend: Backend,
  fixture: Fixture | string,
  options?: O,
): Promise<ConformanceResult> {
  const f = typeof fixture === 'string' ? loadFixture(fixture) : fixture;
  const { graph } = buildFixtureGraph(f);
  const { weights } = loadWeights(graph, readFixtureWeights(f), {
    strict: true,
    source: `${f.name}/weights.safetensors`,
  });
  const exe = await backend.compile(graph, weights, options);
  try {
    const out = await exe.run({ [graph.inputs[0]!.name]: f.input });
    const y = out[graph.outputs[0]!]!;
    const features = f.features ? await runFeatures(backend, f, options) : [];
    return { fixture: f.name, ...compareToExpected(y, f.expected, f.atol), features };
  } finally {
    exe.dispose();
  }
}

/**
 * The fixture's feature maps: built as timm's features_only model (the same weights less the
 * head), each map compared with `feature.<i>`, and the reported feature_info with timm's.
 */
async function runFeatures<O extends object>(
  backend: Backend,
  f: Fixture,
  options?: O,
): Promise<(Comparison & { key: string })[]> {
  const spec = f.features!;
  const built = buildFromJson(f.meta, {
    inputShape: f.meta.input_shape,
    source: `${f.name}/meta.json`,
    features: { outIndices: spec.outIndices },
  });
  const info = (built.featureInfo ?? []).map((m) => ({
    module: m.module,
    num_chs: m.numChs,
    reduction: m.reduction,
  }));
  if (JSON.stringify(info) !== JSON.stringify(spec.featureInfo))
    throw new ShapeError(
      `${f.name}: feature_info ${JSON.stringify(info)} is not timm's ${JSON.stringify(spec.featureInfo)}`,
    );
  const all = readFixtureWeights(f);
  const head = new Map([...all].filter(([k]) => k in built.graph.params));
  const { weights } = loadWeights(built.graph, head, {
    strict: true,
    source: `${f.name}/weights.safetensors`,
  });
  const expected = readSafetensors(readFileSync(spec.path), `${f.name}/features.safetensors`);
  const exe = await backend.compile(built.graph, weights, options);
  try {
    const out = await exe.run({ [built.graph.inputs[0]!.name]: f.input });
    return built.graph.outputs.map((name, i) => {
      const key = spec.keys[i]!;
      const want = expected.get(key);
      if (!want) throw new ShapeError(`${f.name}/features.safetensors: no '${key}'`);
      return { key, ...compareToExpected(out[name]!, want, spec.atol[i]!) };
    });
  } finally {
    exe.dispose();
  }
}

/** Every fixture's name, for `describe.each`/`it.each` in a backend's tests. */
export function conformanceCases(which: 'all' | 'shared' | 'timm' | 'extra' = 'all'): string[] {
  return listFixtures(which);
}
