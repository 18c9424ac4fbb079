// Runs a fixture in the page: the same package, fetched fixture files, compared here so only
// numbers cross back to the test.
import * as core from '@cardinal/core';
import { buildFromJson, loadSafetensorsWeights, readRawF32 } from '@cardinal/core';
import * as webgpu from '../../src/index.js';
import { webgpuBackend } from '../../src/index.js';

interface FixtureResult {
  maxAbsDiff: number;
  atol: number;
  shape: number[];
  adapter: string;
}

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function runFixture(name: string): Promise<FixtureResult> {
  const base = `/fixtures/${name}`;
  const meta = JSON.parse(new TextDecoder().decode(await bytes(`${base}/meta.json`)));
  const { graph } = buildFromJson(meta, { inputShape: meta.input_shape, source: `${name}/meta.json` });
  const { weights } = loadSafetensorsWeights(graph, await bytes(`${base}/weights.safetensors`), {
    strict: true,
    source: `${name}/weights.safetensors`,
  });
  const input = readRawF32(await bytes(`${base}/input.bin`), meta.input_shape, 'input.bin');
  const expected = readRawF32(await bytes(`${base}/output.bin`), meta.output_shape, 'output.bin');
  const exe = await webgpuBackend.compile(graph, weights);
  try {
    const out = (await exe.run({ [graph.inputs[0]!.name]: input }))[graph.outputs[0]!]!;
    let maxAbsDiff = 0;
    for (let i = 0; i < out.data.length; i++)
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(out.data[i]! - expected.data[i]!));
    if (out.data.length !== expected.data.length) maxAbsDiff = Number.POSITIVE_INFINITY;
    return { maxAbsDiff, atol: meta.tolerance_hint.atol, shape: [...out.shape], adapter: exe.describe() };
  } finally {
    exe.dispose();
  }
}

declare global {
  interface Window {
    cardinalTest: { runFixture: typeof runFixture; availability: () => Promise<unknown> };
    cardinal: { core: typeof core; webgpu: typeof webgpu };
  }
}
window.cardinal = { core, webgpu };
window.cardinalTest = { runFixture, availability: () => webgpuBackend.isAvailable() };
document.getElementById('status')!.textContent = 'ready';
