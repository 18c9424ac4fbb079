import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadWeights } from '@cardinal/core';
import {
  buildFixtureGraph,
  compareToExpected,
  loadFixture,
  readFixtureWeights,
  settledRssMiB,
} from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { acquireDevice, compileWebGpu, lowerGraph, webgpuBackend } from '../src/index.js';

const availability = await webgpuBackend.isAvailable();
if (!availability.available) console.warn(`skipping WebGPU runtime tests: ${availability.reason}`);

function fixtureModel(name: string) {
  const f = loadFixture(name);
  const { graph } = buildFixtureGraph(f);
  const { weights } = loadWeights(graph, readFixtureWeights(f), { strict: true });
  return { f, graph, weights };
}

/**
 * An instrumented view of a device: counts the buffers it creates and keeps the ones not yet
 * destroyed, so tests can see what a compiled model allocates and frees.
 */
function watchBuffers(target: GPUDevice) {
  let created = 0;
  const live = new Set<GPUBuffer>();
  const device = new Proxy(target, {
    get(t, prop) {
      if (prop === 'createBuffer')
        return (d: GPUBufferDescriptor) => {
          const b = t.createBuffer(d);
          created += 1;
          live.add(b);
          const destroy = b.destroy.bind(b);
          b.destroy = () => {
            live.delete(b);
            destroy();
          };
          return b;
        };
      const v = Reflect.get(t, prop, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { device, live, created: () => created };
}

describe.skipIf(!availability.available)('webgpu runtime', () => {
  it('allocates no GPU buffer after the first run, over 1,000 runs', async () => {
    const watched = watchBuffers((await acquireDevice()).device);
    const { f, graph, weights } = fixtureModel('tiny_resnext');
    const exe = await compileWebGpu(graph, weights, { gpuDevice: watched.device });
    try {
      const x = { [graph.inputs[0]!.name]: f.input };
      const first = (await exe.run(x))[graph.outputs[0]!]!;
      expect(compareToExpected(first, f.expected, f.atol).maxAbsDiff).toBeLessThanOrEqual(f.atol);
      const afterFirst = watched.created();
      expect(afterFirst).toBeGreaterThan(0);
      let last = first;
      for (let i = 0; i < 1000; i++) last = (await exe.run(x))[graph.outputs[0]!]!;
      expect(watched.created() - afterFirst).toBe(0);
      expect(Array.from(last.data)).toEqual(Array.from(first.data));
    } finally {
      exe.dispose();
    }
  });

  it('dispose destroys every buffer it made; 50 compile/dispose cycles do not grow memory', async () => {
    const { device: tracking, live } = watchBuffers((await acquireDevice()).device);
    const { f, graph, weights } = fixtureModel('timm_se_256');
    const cycle = async () => {
      const exe = await compileWebGpu(graph, weights, { gpuDevice: tracking });
      await exe.run({ [graph.inputs[0]!.name]: f.input });
      expect(live.size).toBeGreaterThan(0);
      exe.dispose();
      await new Promise((r) => setTimeout(r, 0));
      expect(live.size).toBe(0);
    };
    for (let i = 0; i < 10; i++) await cycle();
    global.gc?.();
    const before = settledRssMiB();
    for (let i = 0; i < 50; i++) await cycle();
    global.gc?.();
    const growth = settledRssMiB() - before;
    console.log(`webgpu compile/dispose: 50 cycles, RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(32);
  });

  it('runs another batch size with its own plan, and batch 1 equals a slice of batch 2', async () => {
    const { f, graph, weights } = fixtureModel('tiny_seresnext_d');
    const exe = await compileWebGpu(graph, weights);
    try {
      const name = graph.inputs[0]!.name;
      const [, c, h, w] = f.input.shape as [number, number, number, number];
      const one = { shape: [1, c, h, w], data: f.input.data.slice(c * h * w) };
      const y1 = (await exe.run({ [name]: one }))[graph.outputs[0]!]!;
      expect(y1.shape).toEqual([1, 10]);
      const y2 = (await exe.run({ [name]: f.input }))[graph.outputs[0]!]!;
      for (let i = 0; i < 10; i++)
        expect(Math.abs(y1.data[i]! - y2.data[10 + i]!)).toBeLessThanOrEqual(f.atol);
      await expect(
        exe.run({ [name]: { shape: [1, c, h + 1, w], data: new Float32Array(c * (h + 1) * w) } }),
      ).rejects.toThrow(
        /input 'input': expected shape \[2, 3, 32, 32\] \(any batch size\), got \[1, 3, 33, 32\]/,
      );
    } finally {
      exe.dispose();
    }
    await expect(exe.run({})).rejects.toThrow(/was disposed/);
  });

  it('keeps every kernel within the device limits (compatibility mode: 128 invocations)', async () => {
    const ctx = await acquireDevice();
    const { graph, weights } = fixtureModel('tiny_resnest_4s2x');
    const tight = { ...ctx.limits, maxInvocationsPerWorkgroup: 32, maxWorkgroupsPerDimension: 16 };
    for (const limits of [ctx.limits, tight]) {
      const { foldBatchNorm } = await import('@cardinal/core');
      const folded = foldBatchNorm(graph, weights);
      const plan = lowerGraph(folded.graph, folded.weights, limits);
      for (const s of plan.steps) {
        const size = Number(/@workgroup_size\((\d+)\)/.exec(s.kernel.wgsl)![1]);
        expect(size).toBeLessThanOrEqual(limits.maxInvocationsPerWorkgroup);
        expect(s.kernel.bindings.length).toBeLessThanOrEqual(limits.maxStorageBuffersPerStage);
      }
    }
    expect(ctx.limits.maxInvocationsPerWorkgroup).toBeLessThanOrEqual(1024);
  });

  it('says which adapter ran', async () => {
    const { graph, weights } = fixtureModel('timm_se_256');
    const exe = await compileWebGpu(graph, weights);
    expect(exe.describe()).toMatch(/^webgpu \((Dawn|browser)/);
    const prof = await exe.profile({ [graph.inputs[0]!.name]: loadFixture('timm_se_256').input });
    expect(prof.reduce((a, p) => a + p.count, 0)).toBe(exe.dispatches);
    exe.dispose();
  });
});

describe('with no adapter at all', () => {
  it('isAvailable says why in words, without crashing', () => {
    // A child whose EGL cannot start and whose Vulkan loader finds no driver.
    const script = `import { webgpuBackend } from ${JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)))};
const a = await webgpuBackend.isAvailable(); console.log(JSON.stringify(a)); process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        ...process.env,
        EGL_PLATFORM: 'no-such-platform',
        VK_ICD_FILENAMES: '/nonexistent.json',
        VK_DRIVER_FILES: '/nonexistent.json',
      },
    });
    expect(r.status).toBe(0);
    const a = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { available: boolean; reason: string };
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/no WebGPU adapter: .*OpenGL backend found no adapter/);
  });
});
