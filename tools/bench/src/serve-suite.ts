// pnpm bench --suite serve [--model resnext50_32x4d] [--seconds 5] [--rounds 2] [--concurrency 1,8,32] [--json]
// The server (`cardinal serve`, its own process, 127.0.0.1 only) under autocannon, with dynamic
// batching on (--max-batch 8 --max-delay-ms 5) and off (--max-batch 1), at each concurrency,
// beside the ONNX backend's bare batch-1 and batch-8 throughput measured in this run. The load
// generator runs in its own process at the lowest priority (serve-load.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onnxBackend } from '@cardinal/backend-onnx';
import { type CompileOptions, createModel, initTestWeights, randomNormal } from '@cardinal/core';
import { stats, timeRuns } from './stats.js';

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    model: { type: 'string', default: 'resnext50_32x4d' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,8,32' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean' },
  },
  strict: true,
});
const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', '..', '..', 'apps', 'cli', 'dist', 'bin.js');
const seconds = Number(values.seconds);
const levels = values.concurrency!.split(',').map(Number);
const size = 224;

// Bare throughput of the backend, batch 1 and 8, in this process (the servers idle meanwhile).
const bareExes = await Promise.all(
  [1, 8].map(async (batch) => {
    const graph = createModel(values.model!, { inputShape: [batch, 3, size, size] });
    const exe = await onnxBackend.compile(graph, initTestWeights(graph, 0), {
      intraOpNumThreads: Number(values.threads),
    } as CompileOptions);
    const x = randomNormal([batch, 3, size, size], 1);
    return { batch, run: () => exe.run({ [graph.inputs[0]!.name]: x }), dispose: () => exe.dispose() };
  }),
);
const bareSamples: Record<number, number[]> = { 1: [], 8: [] };
async function measureBare(): Promise<void> {
  for (const b of bareExes) {
    const ms = stats(await timeRuns(b.run, 2, b.batch === 1 ? 16 : 3)).medianMs;
    bareSamples[b.batch]!.push((b.batch * 1000) / ms);
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

/**
 * Waits until a server has answered everything: autocannon stops sending at its deadline, but up
 * to `concurrency` requests are still queued there, and a server still draining them would take
 * cores from the next measurement (the bare runs, or the other server).
 */
async function settle(url: string): Promise<void> {
  const batches = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = /^cardinal_inference_duration_seconds_count\{[^}]*\} (\d+)/m.exec(text)?.[1];
    const depth = /^cardinal_queue_depth\{[^}]*\} (\d+)/m.exec(text)?.[1];
    return `${count}/${depth}`;
  };
  let last = await batches();
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const now = await batches();
    if (now === last && now.endsWith('/0')) return;
    last = now;
  }
}

interface Row {
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
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
  for (const b of bareExes) b.dispose();
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows: Row[] = [...samples.values()].map((rs) => ({
  ...rs[0]!,
  rps: mean(rs.map((r) => r.rps)),
  p50: mean(rs.map((r) => r.p50)),
  p99: Math.max(...rs.map((r) => r.p99)),
  non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
  errors: rs.reduce((a, r) => a + r.errors, 0),
}));
const bare = { 1: mean(bareSamples[1]!), 8: mean(bareSamples[8]!) };

const best = Math.max(bare[1]!, bare[8]!);
const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.versions.node}`;
if (values.json) console.log(JSON.stringify({ machine, bare, rows }));
else {
  console.log(`machine: ${machine}`);
  console.log(
    `${values.model} at ${size} on onnx, ${values.threads} threads; bare: batch 1 ${bare[1]!.toFixed(1)} images/s, batch 8 ${bare[8]!.toFixed(1)} images/s`,
  );
  console.log('| batching | concurrency | requests/s | p50 ms | p99 ms | non-2xx | errors | / bare best |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.batching} | ${r.concurrency} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${(r.rps / best).toFixed(2)} |`,
    );
}
