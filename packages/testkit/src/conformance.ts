import { type Backend, loadWeights } from '@cardinal/core';
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
    return { fixture: f.name, ...compareToExpected(y, f.expected, f.atol) };
  } finally {
    exe.dispose();
  }
}

/** Every fixture's name, for `describe.each`/`it.each` in a backend's tests. */
export function conformanceCases(which: 'all' | 'shared' | 'extra' = 'all'): string[] {
  return listFixtures(which);
}
