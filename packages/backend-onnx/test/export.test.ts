import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, initTestWeights, maxAbsDiff, type Tensor } from '@cardinal/core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileOnnx, exportOnnx } from '../src/index.js';
import { onnx as proto } from '../src/proto.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-onnx-'));
const file = join(tmp, 'resnext50_32x4d.onnx');

function randomInput(shape: number[], seed: number): Tensor {
  let s = seed;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
  return { shape, data };
}

const pythonOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx; print(onnx.__version__)'], {
  encoding: 'utf8',
});
const hasChecker = pythonOnnx.status === 0;
if (!hasChecker)
  console.warn(
    'skipping the ONNX checker test: /usr/bin/python3 with the onnx module (Debian python3-onnx) is not installed',
  );

describe('exported resnext50_32x4d', () => {
  const graph = createModel('resnext50_32x4d');
  const weights = initTestWeights(graph, 1);

  beforeAll(() => {
    writeFileSync(file, exportOnnx(graph, weights));
  });

  it.skipIf(!hasChecker)(
    `passes onnx.checker.check_model(full_check=True) of python3-onnx ${pythonOnnx.stdout.trim()}`,
    () => {
      const r = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          `import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(m.ir_version, m.opset_import[0].version)`,
          file,
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('8 17');
    },
  );

  it('is opset 17 / IR 8 with a symbolic batch, module-path node names and state_dict initializer names', () => {
    const m = proto.ModelProto.decode(readFileSync(file));
    const g = m.graph as InstanceType<typeof proto.GraphProto>;
    expect(Number(m.irVersion)).toBe(8);
    expect(Number(m.opsetImport[0]!.version)).toBe(17);
    const dims = g.input[0]!.type!.tensorType!.shape!.dim ?? [];
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3, 224, 224]);
    const conv = g.node.find((n) => n.name === 'layer1.0.conv2')!;
    expect(conv.opType).toBe('Conv');
    expect(Number(conv.attribute?.find((a) => a.name === 'group')?.i)).toBe(32);
    expect(conv.input).toEqual(['layer1.0.act1', 'layer1.0.conv2.weight', 'layer1.0.conv2.bias']);
    expect(g.node.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    expect(g.initializer.map((t) => t.name)).toContain('fc.weight');
  });

  it('loads in onnxruntime at batch 1 and 4 and equals the in-process session', async () => {
    const session = await ort.InferenceSession.create(file);
    const exe = await compileOnnx(graph, weights, { executionProviders: ['cpu'] });
    try {
      for (const n of [1, 4]) {
        const x = randomInput([n, 3, 224, 224], n);
        const fromFile = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
        const y = fromFile[graph.outputs[0]!]!;
        expect(y.dims).toEqual([n, 1000]);
        const inProcess = (await exe.run({ input: x }))[graph.outputs[0]!]!;
        expect(
          maxAbsDiff({ shape: [...y.dims], data: y.data as Float32Array }, inProcess),
        ).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      exe.dispose();
      await session.release();
    }
  });

  it('exports BatchNorm as BatchNormalization when asked to keep it', () => {
    const m = proto.ModelProto.decode(exportOnnx(graph, weights, { foldBatchNorm: false }));
    expect(
      (m.graph as InstanceType<typeof proto.GraphProto>).node.filter(
        (n) => n.opType === 'BatchNormalization',
      ),
    ).toHaveLength(53);
  });
});
