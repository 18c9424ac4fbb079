import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx } from '@cardinal/backend-onnx';
import {
  GraphBuilder,
  inferShapes,
  initTestWeights,
  loadWeights,
  maxAbsDiff,
  readNpy,
  runReference,
  writeNpy,
} from '@cardinal/core';
import { buildFixtureGraph, compareToExpected, loadFixture, readFixtureWeights } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-onnx-model-'));

describe('an .onnx file as the model', () => {
  it('summary, run (equal to the fixture), and export back to .onnx of a Cardinal export; bad files in one line', async () => {
    const f = loadFixture('tiny_skresnext');
    const file = join(tmp, 'sk.onnx');
    const exported = await cli(
      'export',
      join(f.dir, 'meta.json'),
      '--weights',
      f.weightsPath,
      '--keep-batchnorm',
      '--out',
      file,
    );
    expect(exported.code, exported.stderr).toBe(0);

    const summary = await cli('summary', file, '--json');
    expect(summary.code, summary.stderr).toBe(0);
    const fromMeta = await cli('summary', join(f.dir, 'meta.json'), '--json');
    // The same modules, parameter for parameter (num_batches_tracked aside, which ONNX lacks).
    expect(JSON.parse(summary.stdout).params).toBe(JSON.parse(fromMeta.stdout).params);

    const x = join(tmp, 'x.npy');
    writeFileSync(x, writeNpy(f.input));
    const y = join(tmp, 'y.npy');
    const run = await cli('run', file, '--input', x, '--out', y, '--backend', 'reference');
    expect(run.code, run.stderr).toBe(0);
    const out = readNpy(readFileSync(y), 'y.npy');
    expect(compareToExpected(out, f.expected, f.atol).pass).toBe(true);

    const again = join(tmp, 'again.onnx');
    const back = await cli('export', file, '--format', 'onnx', '--keep-batchnorm', '--out', again);
    expect(back.code, back.stderr).toBe(0);
    const refused = await cli('export', file, '--format', 'onnx', '--out', file, '--force');
    expect(refused.code).toBe(1);

    // The architecture as a graph document, run with the .onnx file's weights.
    const doc = join(tmp, 'sk.json');
    const wrote = await cli('export', file, '--format', 'graph', '--out', doc);
    expect(wrote.code, wrote.stderr).toBe(0);
    const parsed = JSON.parse(readFileSync(doc, 'utf8')) as {
      format: string;
      graph: { nodes: { op: string }[] };
    };
    expect(parsed.format).toBe('cardinal.graph');
    expect(parsed.graph.nodes.some((n) => n.op === 'batchNorm')).toBe(true);
    const y2 = join(tmp, 'y2.npy');
    const fromDoc = await cli(
      'run',
      doc,
      '--weights',
      file,
      '--input',
      x,
      '--out',
      y2,
      '--backend',
      'reference',
    );
    expect(fromDoc.code, fromDoc.stderr).toBe(0);
    expect(compareToExpected(readNpy(readFileSync(y2), 'y2.npy'), f.expected, f.atol).pass).toBe(true);
    const overwrite = await cli('export', doc, '--format', 'graph', '--out', doc, '--force');
    expect(overwrite.code).toBe(1);

    const broken = join(tmp, 'broken.onnx');
    writeFileSync(broken, readFileSync(file).subarray(0, 1000));
    const bad = await cli('summary', broken);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/broken\.onnx: not a readable ONNX model/);
  });

  it('runs a static-shape export at its own batch and refuses another image size in one line', async () => {
    const f = loadFixture('tiny_resnet_basic');
    const file = join(tmp, 'static.onnx');
    const built = buildFixtureGraph(f).graph;
    const graph = inferShapes(built, { [built.inputs[0]!.name]: f.input.shape });
    writeFileSync(
      file,
      exportOnnx(graph, loadWeights(graph, readFixtureWeights(f)).weights, { batchDim: null }),
    );
    // The commands' default batch of 1 gives way to the file's static batch of 2.
    const summary = await cli('summary', file, '--json');
    expect(summary.code, summary.stderr).toBe(0);
    expect(JSON.parse(summary.stdout).input_shape).toEqual([2, 3, 32, 32]);
    const other = await cli('summary', file, '--input-size', '64');
    expect(other.code).toBe(1);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(
      /static\.onnx: the model's input is exported with the static shape \[2, 3, 32, 32\]; it cannot take \[1, 3, 64, 64\]/,
    );
  });

  it('runs an .onnx model whose input is not an image ([N, 8] features), and refuses another rank in one line', async () => {
    const b = new GraphBuilder('mlp');
    const x = b.input('features', [2, 8]);
    b.output(b.linear(b.relu(b.linear(x, 'fc1', 16)), 'fc2', 3));
    const graph = b.build();
    const weights = initTestWeights(graph, 5);
    const file = join(tmp, 'mlp.onnx');
    writeFileSync(file, exportOnnx(graph, weights));
    const input = { shape: [2, 8], data: Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)) };
    const xin = join(tmp, 'features.npy');
    writeFileSync(xin, writeNpy(input));
    const yout = join(tmp, 'mlp-out.npy');
    const run = await cli('run', file, '--input', xin, '--out', yout);
    expect(run.code, run.stderr).toBe(0);
    const want = runReference(graph, weights, { features: input })[graph.outputs[0]!]!;
    expect(maxAbsDiff(readNpy(readFileSync(yout), 'out'), want)).toBeLessThan(1e-5);
    const image = join(tmp, 'image.npy');
    writeFileSync(image, writeNpy({ shape: [1, 3, 4, 4], data: new Float32Array(48) }));
    const wrong = await cli('run', file, '--input', image);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toMatch(/image\.npy: the model takes a 2-D input, got \[1, 3, 4, 4\]$/);
  });
});
