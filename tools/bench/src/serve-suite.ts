// pnpm bench --suite serve [--model resnext50_32x4d] [--seconds 5] [--rounds 2] [--concurrency 1,8,32]
//                          [--replicas 2] [--threads 1] [--json]
// The server (`cardinal serve`, its own process, 127.0.0.1 only) under autocannon, with dynamic
// batching on (--max-batch 8 --max-delay-ms 5) and off (--max-batch 1), at each concurrency,
// beside the ONNX backend's bare batch-1 and batch-8 throughput measured in this run, both as one
// session on all the cores and as the server's replicas (sessions running side by side in worker
// threads); the server is compared with the best of them. The load generator runs in its own
// process at the lowest priority (serve-load.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onnxBackend } from '@cardinal/backend-onnx';
import { createModel, type Executable, initTestWeights, randomNormal } from '@cardinal/core';

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    model: { type: 'string', default: 'resnext50_32x4d' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,8,32' },
    replicas: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    json: { type: 'boolean' },
  },
  strict: true,
});
const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', '..', '..', 'apps', 'cli', 'dist', 'bin.js');
const seconds = Number(values.seconds);
const levels = values.concurrency!.split(',').map(Number);
const size = 224;

const replicas = Number(values.replicas);
const threads = Number(values.threads);
const cores = cpus().length;

/** One way to run the backend bare: `sessions` sessions of `threads` threads each, side by side. */
interface BareConfig {
  key: string;
  label: string;
  batch: number;
  runs: (() => Promise<unknown>)[];
  dispose: () => void;
}
async function bareConfig(batch: number, sessions: number, sessionThreads: number): Promise<BareConfig> {
  const graph = createModel(values.model!, { inputShape: [batch, 3, size, size] });
  const weights = initTestWeights(graph, 0);
  const x = randomNormal([batch, 3, size, size], 1);
  const exes: Executable[] = [];
  for (let i = 0; i < sessions; i++)
    exes.push(
      await onnxBackend.compile(graph, weights, {
        threads: sessionThreads,
        // Side by side, each session runs in its own worker thread, as the server's replicas do.
        ...(sessions > 1 ? { worker: true } : {}),
      }),
    );
  const s = sessions === 1 ? '1 session' : `${sessions} sessions`;
  return {
    key: `${sessions}x${sessionThreads}:${batch}`,
    label: `${s} x ${sessionThreads} thread${sessionThreads === 1 ? '' : 's'}, batch ${batch}`,
    batch,
    runs: exes.map((exe) => () => exe.run({ [graph.inputs[0]!.name]: x })),
    dispose: () => {
      for (const exe of exes) exe.dispose();
    },
  };
}

// Bare throughput of the backend, batch 1 and 8: one session on all the cores, and the server's
// replicas side by side; in this process, while the servers idle.
const bareConfigs: BareConfig[] = [];
for (const batch of [1, 8]) {
  bareConfigs.push(await bareConfig(batch, 1, cores));
  if (replicas > 1 || threads !== cores) bareConfigs.push(await bareConfig(batch, replicas, threads));
}
const bareSeconds = 4;
const bareSamples = new Map<string, number[]>();
async function measureBare(): Promise<void> {
  for (const c of bareConfigs) {
    await Promise.all(c.runs.map((run) => run()));
    let samples = 0;
    const t0 = performance.now();
    const end = t0 + bareSeconds * 1000;
    await Promise.all(
      c.runs.map(async (run) => {
        while (performance.now() < end) {
          await run();
          samples += c.batch;
        }
      }),
    );
    const rate = samples / ((performance.now() - t0) / 1000);
    bareSamples.set(c.key, [...(bareSamples.get(c.key) ?? []), rate]);
  }
}

function startServer(maxBatch: number): Promise<{ child: ChildProcess; url: string }> {
  const args = [
    BIN,
    'serve',
    values.model!,
    '--port',
    '0',
    '--quiet',
    '--max-batch',
    String(maxBatch),
    '--max-delay-ms',
    '5',
    '--replicas',
    values.replicas!,
    '--threads',
    values.threads!,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) res({ child, url: m[1]! });
    });
    child.on('exit', (code) => rej(new Error(`serve exited ${code}`)));
  });
}

/** autocannon against one server, in its own process at the lowest priority (see serve-load.ts). */
function load(url: string, connections: number): Promise<Omit<Row, 'batching' | 'concurrency'>> {
  const child = spawn(
    process.execPath,
    [join(here, 'serve-load.js'), url, values.model!, String(connections), String(seconds)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  setPriority(child.pid!, 19);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  return new Promise((res, rej) =>
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`load exited ${code}`)))),
  );
}

/** The first sample of a metric in a Prometheus text page (a server serves one model here). */
function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+-]+)`, 'm').exec(text)?.[1]);
}

/**
 * Waits until a server has answered everything: autocannon stops sending at its deadline, but up
 * to `concurrency` requests are still queued there, and a server still draining them would take
 * cores from the next measurement (the bare runs, or the other server).
 */
async function settle(url: string): Promise<void> {
  const batches = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return `${metric(text, 'cardinal_inference_duration_seconds_count')}/${metric(text, 'cardinal_queue_depth')}`;
  };
  let last = await batches();
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const now = await batches();
    if (now === last && now.endsWith('/0')) return;
    last = now;
  }
}

/** What the batching server chose: its batch limit now, its batches' mean size over the run, and what it measured. */
async function batchSizes(
  url: string,
): Promise<{ limit: number; meanBatch: number; msPerSample: Record<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const msPerSample: Record<string, number> = {};
  for (const m of text.matchAll(/^cardinal_batch_sample_seconds\{[^}]*size="(\d+)"\} ([\d.e+-]+)/gm))
    msPerSample[m[1]!] = Number(m[2]) * 1000;
  return {
    limit: metric(text, 'cardinal_batch_limit'),
    meanBatch: metric(text, 'cardinal_batch_size_sum') / metric(text, 'cardinal_batch_size_count'),
    msPerSample,
  };
}

interface Row {
  perRound?: number[];
  batching: string;
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}
const rounds = Number(values.rounds);
const servers = { on: await startServer(8), off: await startServer(1) };
const samples = new Map<string, Row[]>();
let batchingOn: Awaited<ReturnType<typeof batchSizes>> = {
  limit: Number.NaN,
  meanBatch: Number.NaN,
  msPerSample: {},
};
try {
  // Rounds alternate bare, batching on and batching off, so drift falls on all alike.
  for (let round = 0; round < rounds; round++) {
    await measureBare();
    // Which mode goes first alternates by round: the one after the bare runs is not always the same.
    for (const connections of levels)
      for (const [mode, { url }] of round % 2 ? Object.entries(servers).reverse() : Object.entries(servers)) {
        const r = await load(url, connections);
        await settle(url);
        const key = `${mode}:${connections}`;
        samples.set(key, [
          ...(samples.get(key) ?? []),
          {
            batching: mode === 'on' ? 'on (max 8, 5 ms)' : 'off',
            concurrency: connections,
            ...r,
          },
        ]);
      }
  }
  batchingOn = await batchSizes(servers.on.url);
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
  for (const c of bareConfigs) c.dispose();
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows: Row[] = [...samples.values()].map((rs) => ({
  ...rs[0]!,
  rps: mean(rs.map((r) => r.rps)),
  p50: mean(rs.map((r) => r.p50)),
  p99: Math.max(...rs.map((r) => r.p99)),
  non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
  errors: rs.reduce((a, r) => a + r.errors, 0),
  perRound: rs.map((r) => r.rps),
}));
const bare = bareConfigs.map((c) => ({ config: c.label, imagesPerSecond: mean(bareSamples.get(c.key)!) }));
const best = Math.max(...bare.map((b) => b.imagesPerSecond));
const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.versions.node}`;
if (values.json) console.log(JSON.stringify({ machine, bare, batchingOn, rows }));
else {
  console.log(`machine: ${machine}`);
  console.log(
    `${values.model} at ${size} on onnx; servers: ${replicas} replica(s) x ${threads} thread(s); bare (images/s): ${bare
      .map((b) => `${b.config} ${b.imagesPerSecond.toFixed(1)}`)
      .join('; ')}; best ${best.toFixed(1)}`,
  );
  console.log(
    `batching on: limit ${batchingOn.limit} at the end (tuned from max 8), mean batch ${batchingOn.meanBatch.toFixed(2)} samples over the run; ms per sample by batch size: ${Object.entries(
      batchingOn.msPerSample,
    )
      .map(([size, ms]) => `${size}: ${ms.toFixed(1)}`)
      .join(', ')}`,
  );
  console.log('| batching | concurrency | requests/s | p50 ms | p99 ms | non-2xx | errors | / bare best |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.batching} | ${r.concurrency} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${(r.rps / best).toFixed(2)} |`,
    );
  console.log('requests/s by round (the spread is the noise of one 5 s cell):');
  for (const r of rows)
    console.log(`  ${r.batching}, ${r.concurrency}: ${r.perRound!.map((x) => x.toFixed(1)).join(', ')}`);
}
