import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadFixture } from '@cardinal/testkit';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { cli } from './helpers.js';

/**
 * `cardinal serve` as a process: graceful shutdown under load (SIGTERM), the Triton export, and
 * the deploy/ examples (their command starts the server here).
 */
const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const fx = loadFixture('tiny_resnext');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-serve-'));

/** Resolves with the server's URL once it says where it listens. */
function attach(child: ChildProcess): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/[\d.:]+)/.exec(out);
      if (m) res({ child, url: m[1]!, stderr: () => err });
    });
    child.on('exit', (code) => rej(new Error(`serve exited ${code}: ${err}`)));
  });
}

/** Starts the server (the built CLI). */
function start(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  return attach(spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

const body = JSON.stringify({
  inputs: [{ name: 'input', shape: fx.input.shape, datatype: 'FP32', data: Array.from(fx.input.data) }],
});

/** Starts `pnpm cardinal serve` from the repo root, as the README says, in a process group of its own. */
function startWithPnpm(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn('pnpm', ['cardinal', 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return attach(child);
}

/** What a load of 12 clients saw and what the server logged, around a signal sent mid-run. */
async function loadThenSignal(
  server: { child: ChildProcess; url: string; stderr: () => string },
  signal: () => void,
) {
  const { child, url, stderr } = server;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let stop = false;
  const outcomes = { ok: 0, wrong: 0, busy: 0, refused: 0, other: [] as string[] };
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(`${url}/v2/models/tiny/infer`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        if (res.status === 503) {
          outcomes.busy++;
          continue;
        }
        const json = (await res.json()) as { outputs: { data: number[] }[] };
        const d = json.outputs[0]!.data;
        const right = res.status === 200 && d.every((v, i) => Math.abs(v - fx.expected.data[i]!) <= fx.atol);
        if (right) outcomes.ok++;
        else outcomes.wrong++;
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
        // After the listener closed: refused, or a keep-alive connection closed while idle.
        if (code === 'ECONNREFUSED' || code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') outcomes.refused++;
        else outcomes.other.push(String(code));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: 12 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  signal();
  // Not ready from the signal on: 503 while answering what was accepted, then no listener.
  let readiness: number | string = 200;
  for (let i = 0; i < 100 && readiness === 200; i++) {
    readiness = (await fetch(`${url}/v2/health/ready`).catch(() => undefined))?.status ?? 'refused';
    if (readiness === 200) await new Promise((r) => setTimeout(r, 10));
  }
  const code = await exited;
  stop = true;
  await Promise.all(workers);
  // What the server saw: every request it read ("incoming request") was answered.
  const lines = stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { reqId?: string; msg?: string; res?: { statusCode: number } });
  const incoming = new Set(lines.filter((l) => l.msg === 'incoming request').map((l) => l.reqId));
  const completed = lines.filter((l) => l.msg === 'request completed');
  const answered = new Set(completed.map((l) => l.reqId));
  return { code, readiness, outcomes, incoming, answered, completed };
}

function expectGraceful(r: Awaited<ReturnType<typeof loadThenSignal>>, stderr: string, signal: string): void {
  expect(r.readiness).not.toBe(200);
  expect(r.code).toBe(0);
  expect(r.outcomes.wrong).toBe(0);
  expect(r.outcomes.other).toEqual([]);
  expect(r.outcomes.ok).toBeGreaterThan(10);
  expect(r.incoming.size).toBeGreaterThanOrEqual(r.outcomes.ok);
  expect([...r.incoming].filter((id) => !r.answered.has(id))).toEqual([]);
  expect(r.completed.every((l) => l.res!.statusCode === 200 || l.res!.statusCode === 503)).toBe(true);
  expect(stderr).toMatch(new RegExp(`${signal}: answering the accepted requests, then exiting`));
}

const fixtureArgs = [join(fx.dir, 'meta.json'), '--weights', fx.weightsPath, '--port', '0', '--name', 'tiny'];

describe('cardinal serve, the process', () => {
  it('SIGTERM under load, with two replicas: every accepted request answered right, readiness false, exit 0', async () => {
    // Two copies of the model: both drain what they hold before the process exits.
    const server = await start([...fixtureArgs, '--replicas', '2']);
    const r = await loadThenSignal(server, () => server.child.kill('SIGTERM'));
    console.log(
      `serve SIGTERM: ${r.outcomes.ok} answered right, ${r.outcomes.busy} 503 while closing, ${r.outcomes.refused} refused after close; server read ${r.incoming.size}, answered ${r.answered.size}`,
    );
    expectGraceful(r, server.stderr(), 'SIGTERM');
  }, 120_000);

  it.each([
    ['SIGTERM to pnpm (kill <pid>)', 'SIGTERM', false],
    ['SIGINT to the process group (Ctrl-C in a terminal)', 'SIGINT', true],
  ] as const)(
    '`pnpm cardinal serve` under load, %s: every accepted request answered, exit 0, nothing left',
    async (_, signal, group) => {
      const server = await startWithPnpm(fixtureArgs);
      const pid = server.child.pid!;
      const r = await loadThenSignal(server, () => process.kill(group ? -pid : pid, signal));
      console.log(
        `pnpm cardinal serve, ${signal}${group ? ' to the group' : ''}: ${r.outcomes.ok} answered right`,
      );
      expectGraceful(r, server.stderr(), signal);
      // No process of the group is left.
      await new Promise((res) => setTimeout(res, 500));
      expect(() => process.kill(-pid, 0)).toThrow();
    },
    120_000,
  );

  it('--config: several models in one server, each with its own batcher and replicas', async () => {
    const config = join(tmp, 'models.json');
    writeFileSync(
      config,
      JSON.stringify([
        { name: 'a', model: join(fx.dir, 'meta.json'), weights: fx.weightsPath },
        { name: 'b', model: join(fx.dir, 'meta.json'), weights: fx.weightsPath, replicas: 2 },
      ]),
    );
    const { child, url, stderr } = await start(['--config', config, '--port', '0']);
    try {
      expect(stderr()).toMatch(/^note: a: onnx \(onnxruntime-node [^\n]*in a worker thread[^\n]*\)$/m);
      expect(stderr()).toMatch(/^note: b: onnx \(onnxruntime-node [^\n]*\), 2 replicas$/m);
      for (const name of ['a', 'b']) {
        const meta = (await (await fetch(`${url}/v2/models/${name}`)).json()) as { name: string };
        expect(meta.name).toBe(name);
        const res = await fetch(`${url}/v2/models/${name}/infer`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        const d = ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data;
        expect(d.every((v, i) => Math.abs(v - fx.expected.data[i]!) <= fx.atol)).toBe(true);
      }
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^cardinal_batch_size_count\{model="a"\} 1$/m);
      expect(metrics).toMatch(/^cardinal_batch_size_count\{model="b"\} 1$/m);
      expect((await fetch(`${url}/v2/models/c`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('exports a Triton repository whose config.pbtxt matches the ONNX file, beside other models, never replacing a version', async () => {
    const repo = join(tmp, 'model_repository');
    const resnet18 = [
      'export',
      'resnet18',
      '--format',
      'triton',
      '--out',
      repo,
      '--max-batch',
      '16',
      '--input-size',
      '64',
    ];
    let r = await cli(...resnet18);
    expect(r.code, r.stderr).toBe(0);
    r = await cli(
      'export',
      join(fx.dir, 'meta.json'),
      '--weights',
      fx.weightsPath,
      '--format',
      'triton',
      '--out',
      repo,
      '--name',
      'tiny',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const [name, maxBatch] of [
      ['resnet18', 16],
      ['tiny', 8],
    ] as const) {
      const pbtxt = readFileSync(join(repo, name, 'config.pbtxt'), 'utf8');
      const model = onnx.ModelProto.decode(readFileSync(join(repo, name, '1', 'model.onnx')));
      expect(pbtxt).toContain(`name: "${name}"`);
      expect(pbtxt).toContain('platform: "onnxruntime_onnx"');
      expect(pbtxt).toContain(`max_batch_size: ${maxBatch}`);
      expect(pbtxt).toMatch(/dynamic_batching \{/);
      const dims = (v: onnx.IValueInfoProto) =>
        v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
      for (const [kind, values] of [
        [
          'input',
          model.graph!.input!.filter((i) => !model.graph!.initializer!.some((t) => t.name === i.name)),
        ],
        ['output', model.graph!.output!],
      ] as const) {
        const block = new RegExp(
          `${kind} \\[\\s*\\{\\s*name: "([^"]+)"\\s*data_type: TYPE_FP32\\s*dims: \\[ ([\\d, ]+) \\]`,
        ).exec(pbtxt)!;
        expect(values).toHaveLength(1);
        expect(block[1]).toBe(values[0]!.name);
        const d = dims(values[0]!);
        // The ONNX batch is symbolic; Triton's dims leave it out.
        expect(typeof d[0]).toBe('string');
        expect(block[2]!.split(', ').map(Number)).toEqual(d.slice(1));
      }
    }
    r = await cli(...resnet18);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/resnet18\/1\/model\.onnx: already exists \(use --force/);
  });

  it('deploy/: the KServe runtime probes the v2 health routes on the port the server listens on, and its command starts the server', async () => {
    const docs = readFileSync(join(ROOT, 'deploy', 'kserve.yaml'), 'utf8')
      .split(/^---$/m)
      .map((d) => parseYaml(d) as Record<string, unknown>)
      .filter(Boolean);
    const runtime = docs.find((d) => d.kind === 'ServingRuntime') as {
      spec: {
        protocolVersions: string[];
        containers: {
          args: string[];
          command: string[];
          ports: { containerPort: number }[];
          readinessProbe: { httpGet: { path: string; port: number } };
          livenessProbe: { httpGet: { path: string; port: number } };
        }[];
      };
    };
    const service = docs.find((d) => d.kind === 'InferenceService') as {
      spec: { predictor: { model: { runtime: string; protocolVersion: string } } };
    };
    expect(runtime.spec.protocolVersions).toContain('v2');
    expect(service.spec.predictor.model.protocolVersion).toBe('v2');
    const c = runtime.spec.containers[0]!;
    const port = c.ports[0]!.containerPort;
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/v2/health/live', port });
    const args = [...c.command, ...c.args];
    expect(args.slice(args.indexOf('--port'), args.indexOf('--port') + 2)).toEqual(['--port', String(port)]);
    expect(args).toContain('0.0.0.0');
    // The same command here, with the fixture for the model, this machine's loopback and a free port.
    const local = c.args.map((a) =>
      a === '0.0.0.0'
        ? '127.0.0.1'
        : a === String(port)
          ? '0'
          : a === '/mnt/models'
            ? join(fx.dir, 'meta.json')
            : a === '{{.Name}}'
              ? 'tiny'
              : a,
    );
    expect(c.command.slice(-1)).toEqual(['serve']);
    const withWeights = [...local.slice(0, 1), '--weights', fx.weightsPath, ...local.slice(1)];
    const { child, url } = await start(withWeights);
    try {
      expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "apps\/cli\/dist\/bin\.js"\]/);
    expect(existsSync(join(ROOT, 'deploy', 'README.md'))).toBe(true);
  });
});
