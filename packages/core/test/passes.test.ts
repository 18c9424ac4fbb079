import { describe, expect, it } from 'vitest';
import {
  createModel,
  foldBatchNorm,
  GraphBuilder,
  GraphError,
  graphFromDocument,
  inferShapes,
  initWeights,
  maxAbsDiff,
  parseGraph,
  removeIdentities,
  runReference,
  ShapeError,
  serializeGraph,
  summarize,
  validateGraph,
} from '../src/index.js';
import { randomInput, randomiseBatchNorm } from './helpers.js';

describe('passes', () => {
  it('folding BatchNorm into convs gives the same output and removes every foldable BatchNorm', () => {
    for (const name of ['resnext50_32x4d', 'skresnet18', 'resnest14d', 'seresnext26d_32x4d']) {
      const g = createModel(name, { inputShape: [2, 3, 48, 40], numClasses: 10 });
      const w = randomiseBatchNorm(g, initWeights(g, 1), 5);
      const folded = foldBatchNorm(g, w);
      validateGraph(folded.graph);
      expect(folded.graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(0);
      const x = { input: randomInput([2, 3, 48, 40], 2) };
      const y0 = runReference(g, w, x)[g.outputs[0]!]!;
      const y1 = runReference(folded.graph, folded.weights, x)[folded.graph.outputs[0]!]!;
      const scale = Math.max(1, ...y0.data.map(Math.abs));
      expect(maxAbsDiff(y0, y1) / scale, name).toBeLessThan(1e-5);
    }
  });

  it('removes identities and rewires their consumers', () => {
    const b = new GraphBuilder('ids');
    let x = b.input('input', [1, 4, 5, 5]);
    x = b.reshape(x, [0, 4, 5, 5], 'same_shape');
    x = b.transpose(x, [0, 1, 2, 3], 'no_perm');
    x = b.maxPool(x, { kernel: 1, stride: 1 }, 'unit_pool');
    x = b.relu(x, 'act');
    b.output(x);
    const g = b.build();
    const r = removeIdentities(g);
    expect(r.nodes.map((n) => n.op)).toEqual(['relu']);
    expect(r.nodes[0]!.inputs).toEqual(['input']);
    validateGraph(r);
    const input = randomInput([1, 4, 5, 5], 1);
    expect(
      maxAbsDiff(runReference(g, new Map(), { input }).act!, runReference(r, new Map(), { input }).act!),
    ).toBe(0);
  });

  it('infers shapes for a new input size and refuses one that changes parameter shapes', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 224, 224] });
    const g2 = inferShapes(g, { input: [4, 3, 97, 131] });
    expect(g2.tensors[g2.outputs[0]!]!.shape).toEqual([4, 1000]);
    expect(g2.tensors['layer4.1.act2']!.shape).toEqual([4, 512, 4, 5]);
    expect(() => inferShapes(g, { input: [1, 4, 64, 64] })).toThrowError(
      /conv1: parameter 'conv1.weight' would need shape \[64, 4, 7, 7\], has \[64, 3, 7, 7\]/,
    );
  });

  it('validate names the path and the shapes of a corrupted graph', () => {
    const g = structuredClone(createModel('resnet18', { inputShape: [1, 3, 64, 64] }));
    g.tensors['layer2.0.conv1']!.shape = [1, 128, 9, 9];
    expect(() => validateGraph(g)).toThrowError(
      new ShapeError(
        "layer2.0.conv1: output 'layer2.0.conv1' expected shape [1, 128, 8, 8], recorded [1, 128, 9, 9]",
      ),
    );
    const h = structuredClone(createModel('resnet18', { inputShape: [1, 3, 64, 64] }));
    h.params['layer3.0.bn2.weight']!.shape = [255];
    expect(() => validateGraph(h)).toThrowError(
      /layer3\.0\.bn2: parameter 'layer3\.0\.bn2\.weight' expected shape \[256\], declared \[255\]/,
    );
    const k = structuredClone(createModel('resnet18', { inputShape: [1, 3, 64, 64] }));
    k.nodes.reverse();
    expect(() => validateGraph(k)).toThrowError(GraphError);
  });
});

describe('serialisation', () => {
  it('round-trips every zoo family identically', () => {
    for (const name of [
      'resnet50d',
      'seresnext26d_32x4d',
      'skresnext50_32x4d',
      'resnest50d_4s2x40d',
      'resnext18',
    ]) {
      const g = createModel(name, { inputShape: [1, 3, 64, 64] });
      const text = serializeGraph(g);
      const back = parseGraph(text, `${name}.json`);
      expect(back).toEqual(g);
      expect(serializeGraph(back)).toBe(text);
      expect(summarize(back).params).toBe(summarize(g).params);
    }
  });

  it('refuses other formats, versions and malformed graphs with a named cause', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 64, 64] });
    const doc = JSON.parse(serializeGraph(g));
    expect(() => graphFromDocument({ ...doc, version: 99 }, 'g.json')).toThrowError(
      /g\.json: unsupported cardinal\.graph version 99/,
    );
    expect(() => graphFromDocument({ ...doc, format: 'onnx' }, 'g.json')).toThrowError(
      /g\.json: not a cardinal\.graph document: format/,
    );
    const bad = structuredClone(doc);
    bad.graph.nodes[0].op = 'conv3d';
    expect(() => graphFromDocument(bad, 'g.json')).toThrowError(/g\.json: invalid graph: nodes\.0\.op/);
    expect(() => parseGraph('{"format":', 'g.json')).toThrowError(/g\.json: not valid JSON/);
  });
});
