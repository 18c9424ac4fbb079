import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { triAttentionNet } from '../examples/custom-architecture.js';
import {
  BLOCK_TYPES,
  buildBlockGraph,
  initTestWeights,
  maxAbsDiff,
  parseGraph,
  runReference,
  serializeGraph,
  summarize,
  validateGraph,
} from '../src/index.js';
import { randomInput } from './helpers.js';

describe('a custom architecture through the public builder API', () => {
  it('validates, summarises, serialises and runs on the reference executor', () => {
    const g = triAttentionNet([2, 3, 40, 56], 10);
    validateGraph(g);
    const s = summarize(g);
    expect(s.outputShape).toEqual([2, 10]);
    // Each stage holds exactly the parameters of the same block built alone from a timm-style config.
    const stage = (prefix: string) =>
      s.layers.filter((l) => l.path.startsWith(prefix)).reduce((n, l) => n + l.params, 0);
    const sk = buildBlockGraph(
      {
        module: 'timm.models.sknet.SelectiveKernelBottleneck',
        args: {
          inplanes: 64,
          planes: 32,
          stride: 2,
          cardinality: 8,
          base_width: 8,
          sk_kwargs: { rd_ratio: 0.125 },
        },
        downsample: { fn: 'downsample_avg', args: { in_channels: 64, out_channels: 128, stride: 2 } },
      },
      [2, 64, 20, 28],
    );
    expect(stage('stage2.')).toBe(summarize(sk).params);
    expect(Object.keys(BLOCK_TYPES)).toContain('SelectiveKernelBottleneck');
    const text = serializeGraph(g);
    const back = parseGraph(text);
    expect(back).toEqual(g);
    const w = initTestWeights(g, 4);
    const x = { input: randomInput([2, 3, 40, 56], 9) };
    const y = runReference(g, w, x)[g.outputs[0]!]!;
    expect(y.data.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(y, runReference(back, w, x)[back.outputs[0]!]!)).toBe(0);
  });

  it('the README shows this exact example', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../examples/custom-architecture.ts', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
  });
});
