import { createModel, type Graph, initTestWeights, maxAbsDiff, prepareForInference } from '@cardinal/core';
import { buildFixtureGraph, listFixtures, loadFixture, readFixtureWeights } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { exportOnnx, importOnnx } from '../src/index.js';
import { onnx } from '../src/proto.js';

const withoutInit = (g: Graph) => ({
  ...g,
  params: Object.fromEntries(Object.entries(g.params).map(([k, { init: _init, ...spec }]) => [k, spec])),
});

/** A graph's nodes with each tensor named by its producer (node name and output index). */
function byProducer(g: Graph) {
  const names = new Map(g.inputs.map((i) => [i.name, `input:${i.name}`]));
  for (const n of g.nodes) for (const [k, o] of n.outputs.entries()) names.set(o, `${n.name}:${k}`);
  return g.nodes.map((n) => ({
    ...n,
    inputs: n.inputs.map((i) => names.get(i)),
    outputs: n.outputs.map((o) => names.get(o)),
  }));
}

describe('importing .onnx files', () => {
  // Every fixture architecture (ResNet, ResNeXt, SE, SK, ResNeSt variants), exported by Cardinal.
  it.each(listFixtures('shared'))(
    '%s: a --keep-batchnorm export re-imports to the identical graph; a folded one to the folded graph',
    (name) => {
      const f = loadFixture(name);
      const { graph } = buildFixtureGraph(f);
      const weights = new Map(
        [...readFixtureWeights(f)].map(([k, t]) => [
          k,
          { shape: [...t.shape], data: t.data as Float32Array },
        ]),
      );
      const { weights: w } = { weights: initTestWeights(graph, 1) };
      for (const [k, t] of weights) if (w.has(k) && t.data instanceof Float32Array) w.set(k, t);
      const kept = importOnnx(exportOnnx(graph, w, { foldBatchNorm: false, batchDim: null }), {
        source: name,
      });
      // Identical but for each parameter's training initialiser (`init`), which no file carries.
      expect(withoutInit(kept.graph)).toEqual(withoutInit(graph));
      // Every value but num_batches_tracked, which ONNX has no place for (it imports as 0).
      for (const [k, t] of kept.weights)
        if (!k.endsWith('num_batches_tracked'))
          expect(Array.from(t.data), k).toEqual(Array.from(w.get(k)!.data));
      const folded = prepareForInference(graph, w);
      const back = importOnnx(exportOnnx(graph, w, { batchDim: null }), { source: name });
      // The same nodes, attributes, parameters and wiring; tensors named by what produces them
      // (the folding pass keeps a removed BatchNorm's output name, the importer the node's).
      expect(byProducer(back.graph)).toEqual(byProducer(folded.graph));
      expect(Object.keys(back.graph.params).sort()).toEqual(Object.keys(folded.graph.params).sort());
      for (const [k, t] of back.weights) expect(maxAbsDiff(t, folded.weights.get(k)!), k).toBe(0);
    },
  );

  // torch.onnx.export files (torchvision's resnext50_32x4d at opsets 11, 13 and 17, every
  // fixture's timm modules and models) are imported and run on every backend in
  // tools/conformance/test/torch-export.test.ts.

  describe('malformed and hostile files: one line each', () => {
    const graph = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 4 });
    const good = exportOnnx(graph, initTestWeights(graph, 2), { foldBatchNorm: false });
    const edit = (fn: (m: InstanceType<typeof onnx.ModelProto>) => void) => {
      const m = onnx.ModelProto.decode(good);
      fn(m);
      return onnx.ModelProto.encode(m).finish();
    };
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'a truncated protobuf',
        good.subarray(0, Math.floor(good.length / 3)),
        /f\.onnx: not a readable ONNX model/,
      ],
      [
        'raw data shorter than the shape',
        edit((m) => {
          const t = m.graph!.initializer![0]!;
          t.rawData = t.rawData!.subarray(0, 8);
        }),
        /tensor 'conv1\.weight': 8 bytes of raw data, its shape \[64, 3, 7, 7\] needs 37632/,
      ],
      [
        'external data',
        edit((m) => {
          const t = m.graph!.initializer![0]!;
          t.rawData = new Uint8Array();
          t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
          t.externalData = [{ key: 'location', value: 'weights.bin' }];
        }),
        /tensor 'conv1\.weight': external data is not supported/,
      ],
      [
        'a cycle',
        edit((m) => {
          const nodes = m.graph!.node!;
          nodes[1]!.input = [nodes[2]!.output![0]!, ...nodes[1]!.input!.slice(1)];
        }),
        /node 'bn1' \(BatchNormalization\) reads 'act1' before it is produced: the graph has a cycle/,
      ],
      [
        'an unknown opset domain',
        edit((m) => {
          m.graph!.node![3]!.domain = 'com.example';
        }),
        /node 'maxpool' \(MaxPool\): domain 'com\.example' is not supported/,
      ],
      [
        'an op outside the list',
        edit((m) => {
          m.graph!.node![2]!.opType = 'LRN';
        }),
        /node 'act1' \(LRN, opset 17\): the op is not supported/,
      ],
      [
        'an attribute that would change the result',
        edit((m) => {
          m.graph!.node![3]!.attribute!.push(
            onnx.AttributeProto.create({ name: 'storage_order', i: 1, type: 2 }),
          );
        }),
        /node 'maxpool' \(MaxPool, opset 17\): storage_order 1 is not supported/,
      ],
      [
        'an opset past 17',
        edit((m) => {
          m.opsetImport![0]!.version = 18;
        }),
        /opset 18 is outside the opsets 1 to 17/,
      ],
    ];
    it.each(cases)('%s', (_what, bytes, message) => {
      let error: Error | undefined;
      try {
        importOnnx(bytes, { source: 'f.onnx' });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.name).toBe('OnnxImportError');
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('\n');
    });

    it('never throws anything but an OnnxImportError on 60 corrupted files', () => {
      let seed = 7;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const small = exportOnnx(
        createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 4 }),
        initTestWeights(graph, 3),
        {},
      );
      for (let k = 0; k < 60; k++) {
        const b = Uint8Array.from(small);
        // Flip bytes in the header (graph structure, names, dims), where the damage is structural.
        for (let j = 0; j < 4; j++)
          b[Math.floor(rand() * Math.min(b.length, 4000))] = Math.floor(rand() * 256);
        try {
          importOnnx(rand() < 0.2 ? b.subarray(0, Math.floor(rand() * b.length)) : b, {
            source: 'fuzz.onnx',
          });
        } catch (e) {
          expect((e as Error).name, (e as Error).stack).toMatch(
            /OnnxImportError|WeightLoadError|ShapeError|GraphError|ConfigError|CostLimitError/,
          );
        }
      }
    });
  });
});
