// pnpm bench --suite webgpu [--model resnext50_32x4d] [--plan 224:1:3,112:2:10]
//                           [--subjects cardinal-webgpu,ort-webgpu,ort-wasm-1,ort-wasm-2,cardinal-node]
//                           [--profile] [--json]
// In one headless Chromium (Debian's, WebGPU on whatever adapter it has: SwiftShader on a
// machine without a GPU), on the same weights, ONNX file (from backend-onnx) and input:
// Cardinal's WebGPU backend, onnxruntime-web's WebGPU EP and its wasm EP on 1 and 2 threads
// (the page is cross-origin isolated so wasm threads work). Then the same model on Cardinal's
// WebGPU backend in Node (Dawn). --plan lists size:warmup:runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportOnnx } from '@cardinal/backend-onnx';
import { compileWebGpu } from '@cardinal/backend-webgpu';
import { buildModel, initTestWeights, randomNormal, saveWeights } from '@cardinal/core';
import { chromiumUnavailableReason, launchChromium, serveDirectory } from '@cardinal/testkit/browser';
import { createServer, defaultClientConditions } from 'vite';
import { stats, timeRuns } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    model: { type: 'string', default: 'resnext50_32x4d' },
    plan: { type: 'string', default: '224:1:3,112:2:10' },
    subjects: { type: 'string', default: 'cardinal-webgpu,ort-webgpu,ort-wasm-1,ort-wasm-2,cardinal-node' },
    profile: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  strict: true,
});

const fail = (m: string): never => {
  console.error(`bench: ${m}`);
  process.exit(1);
};
const reason = chromiumUnavailableReason();
if (reason) fail(reason);
const plan = values.plan.split(',').map((p) => {
  const [size, warmup, runs] = p.split(':').map(Number);
  if (!size || warmup === undefined || !runs) fail(`--plan entries are size:warmup:runs, got '${p}'`);
  return { size: size!, warmup: warmup!, runs: runs! };
});
const subjects = values.subjects.split(',');

// One set of weights, and per size an ONNX file and an input, shared by every subject.
const data = mkdtempSync(join(tmpdir(), 'cardinal-bench-webgpu-'));
const base = buildModel(values.model, { inputShape: [1, 3, plan[0]!.size, plan[0]!.size] }).graph;
const weights = initTestWeights(base, 0);
writeFileSync(join(data, 'weights.safetensors'), saveWeights(base, weights));
for (const { size } of plan) {
  const g = buildModel(values.model, { inputShape: [1, 3, size, size] }).graph;
  writeFileSync(join(data, `model-${size}.onnx`), exportOnnx(g, weights));
  const x = randomNormal([1, 3, size, size], 7);
  writeFileSync(join(data, `input-${size}.bin`), new Uint8Array(x.data.buffer));
}

// The package exports no package.json; its main entry sits in dist/.
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const isolation = (_req: IncomingMessage, res: ServerResponse, next: () => void): void => {
  // Cross-origin isolation: SharedArrayBuffer, hence wasm threads.
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  next();
};
const server = await createServer({
  root: join(here, '..', 'web'),
  configFile: false,
  logLevel: 'error',
  // Workspace packages from their TypeScript sources, then Vite's usual browser conditions.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  server: { host: '127.0.0.1', port: 0, hmr: false },
  optimizeDeps: { noDiscovery: true, include: [] },
  plugins: [
    {
      name: 'bench-data',
      configureServer(s) {
        s.middlewares.use(isolation);
        s.middlewares.use(serveDirectory('/bench-data/', data));
        s.middlewares.use(serveDirectory('/ort/', ortDist));
      },
    },
  ],
});
await server.listen();
const browser = await launchChromium();

/** What web/main.ts puts on the page. */
interface BenchPage {
  bench: {
    run(q: object): Promise<{
      timesMs: number[];
      adapter: string;
      output: number[];
      crossOriginIsolated: boolean;
      profile?: unknown;
    }>;
  };
}

interface Row {
  subject: string;
  size: number;
  where: string;
  adapter: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  maxAbsDiffVsCardinal?: number;
}
const rows: Row[] = [];
const profiles: Record<string, unknown> = {};
const outputs = new Map<number, number[]>();
const diff = (a: number[], b: number[] | undefined) =>
  b ? a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) : undefined;

try {
  for (const { size, warmup, runs } of plan) {
    for (const subject of subjects) {
      const t0 = performance.now();
      let row: Row;
      if (subject === 'cardinal-node') {
        const g = buildModel(values.model, { inputShape: [1, 3, size, size] }).graph;
        const exe = await compileWebGpu(g, weights);
        const x = { [g.inputs[0]!.name]: randomNormal([1, 3, size, size], 7) };
        let out: Float32Array = new Float32Array();
        const times = await timeRuns(
          async () => {
            out = (await exe.run(x))[g.outputs[0]!]!.data;
          },
          warmup,
          runs,
        );
        if (values.profile) profiles[`${subject}@${size}`] = await exe.profile(x);
        const st = { ...stats(times), maxMs: Math.max(...times) };
        row = {
          subject,
          size,
          where: 'node',
          adapter: exe.adapter,
          runs,
          medianMs: st.medianMs,
          minMs: st.minMs,
          maxMs: st.maxMs,
        };
        row.maxAbsDiffVsCardinal = diff(Array.from(out), outputs.get(size));
        exe.dispose();
      } else {
        const page = await browser.newPage();
        page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
        await page.goto(server.resolvedUrls!.local[0]!);
        await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
        const [kind, threads] = subject.startsWith('ort-wasm-')
          ? ['ort-wasm', Number(subject.slice('ort-wasm-'.length))]
          : [subject, undefined];
        const req = {
          subject: kind,
          model: values.model,
          size,
          warmup,
          runs,
          threads,
          profile: values.profile,
        };
        const r = await page.evaluate((q) => (globalThis as unknown as BenchPage).bench.run(q), req);
        await page.close();
        if (kind === 'ort-wasm' && threads! > 1 && !r.crossOriginIsolated)
          fail('the page is not cross-origin isolated');
        if (r.profile) profiles[`${subject}@${size}`] = r.profile;
        const st = { ...stats(r.timesMs), maxMs: Math.max(...r.timesMs) };
        row = {
          subject,
          size,
          where: 'chromium',
          adapter: r.adapter,
          runs,
          medianMs: st.medianMs,
          minMs: st.minMs,
          maxMs: st.maxMs,
        };
        if (subject === 'cardinal-webgpu') outputs.set(size, r.output);
        else row.maxAbsDiffVsCardinal = diff(r.output, outputs.get(size));
      }
      rows.push(row);
      if (!values.json)
        console.error(
          `${subject} @${size}: median ${row.medianMs.toFixed(1)} ms (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(data, { recursive: true, force: true });
}

const ours = (size: number, where: string) =>
  rows.find((r) => r.size === size && r.subject === (where === 'node' ? 'cardinal-node' : 'cardinal-webgpu'));
const report = rows.map((r) => {
  const c = ours(r.size, 'chromium');
  return { ...r, cardinalSpeedup: c ? r.medianMs / c.medianMs : undefined };
});
if (values.json) console.log(JSON.stringify({ model: values.model, rows: report, profiles }, null, 2));
else {
  for (const r of report)
    console.log(
      `${r.subject.padEnd(16)} ${String(r.size).padStart(4)} ${r.where.padEnd(9)} median ${r.medianMs.toFixed(1).padStart(9)} ms  min ${r.minMs.toFixed(1)}  max ${r.maxMs.toFixed(1)}  Cardinal-WebGPU is ${r.cardinalSpeedup?.toFixed(2)}x faster  |diff| ${r.maxAbsDiffVsCardinal?.toExponential(1) ?? '-'}  [${r.adapter}]`,
    );
  for (const [k, p] of Object.entries(profiles)) console.log(k, JSON.stringify(p));
}
process.exit(0);
