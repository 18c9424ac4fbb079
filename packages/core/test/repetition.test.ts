import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { buildBlockGraph, initTestWeights, referenceBackend } from '../src/index.js';
import { randomInput } from './helpers.js';

// A full collection before each reading, so that the heap's own growth schedule (a major GC
// that happens to run before one reading and not the other) is not mistaken for a leak.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// Memory the process still holds for JavaScript after a full collection: the heap and array
// buffers. A leak in the executor grows these; RSS also moves with the allocator's own page
// retention (it once read 19 MiB more after 1,000 runs with nothing retained), so it is logged,
// not asserted.
const rssMiB = () => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

describe('reference backend under repetition', () => {
  const graph = buildBlockGraph(
    {
      module: 'timm.models.resnet.Bottleneck',
      args: { inplanes: 32, planes: 8, cardinality: 4, base_width: 16, attn_layer: 'se' },
    },
    [1, 32, 6, 6],
  );
  const weights = initTestWeights(graph);
  const input = { input: randomInput([1, 32, 6, 6], 1) };

  it('1,000 runs of one compiled model do not grow retained memory', async () => {
    const exe = await referenceBackend.compile(graph, weights);
    for (let i = 0; i < 100; i++) await exe.run(input);
    const before = rssMiB();
    for (let i = 0; i < 1000; i++) await exe.run(input);
    const growth = rssMiB() - before;
    console.log(
      `reference repetition: 1000 runs, retained growth ${growth.toFixed(1)} MiB (RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`,
    );
    exe.dispose();
    expect(growth).toBeLessThan(16);
  });

  it('100 compile/dispose cycles do not grow retained memory', async () => {
    for (let i = 0; i < 10; i++) (await referenceBackend.compile(graph, weights)).dispose();
    const before = rssMiB();
    for (let i = 0; i < 100; i++) {
      const exe = await referenceBackend.compile(graph, weights);
      await exe.run(input);
      exe.dispose();
    }
    const growth = rssMiB() - before;
    console.log(
      `reference compile/dispose: 100 cycles, retained growth ${growth.toFixed(1)} MiB (RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`,
    );
    expect(growth).toBeLessThan(16);
  });
});
