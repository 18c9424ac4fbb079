import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { onnxBackend } from '@cardinal/backend-onnx';
import {
  type Backend,
  buildFromJson,
  classify,
  IMAGENET_DEFAULTS,
  loadSafetensorsWeights,
  preprocessImages,
  RANDOM_WEIGHTS_WARNING,
  type Tensor,
} from '@cardinal/core';
import { decodeImage } from '@cardinal/pretrained';
import { blackPng, loadFixture, settledRssMiB } from '@cardinal/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InferenceServer, type ModelEntry, modelEntry, serve } from '../src/index.js';

/**
 * The Open Inference Protocol server on the tiny ResNeXt fixture (its PyTorch weights), on a
 * free port of 127.0.0.1: every route, JSON and binary tensors against the fixture's PyTorch
 * output, the image route against the library, the error statuses, batching, overload, a soak.
 */
const fx = loadFixture('tiny_resnext');
const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
const sample = fx.input.data.length / fx.input.shape[0]!;
const classes = fx.expected.shape[1]!;

function entry(batching: ModelEntry['batching'] = {}, backend: Backend = onnxBackend): ModelEntry {
  const { graph } = buildFromJson(fx.meta, { inputShape: [1, 3, 32, 32] });
  const weights = loadSafetensorsWeights(graph, readFileSync(fx.weightsPath)).weights;
  return { name: 'tiny', graph, weights, backend, batching };
}

/**
 * The ONNX backend taking `ms` more per call, as a large model would. Its calls run one after
 * another, as on one device (or backend-onnx's worker thread).
 */
const delayedBackend = (ms: number): Backend => ({
  ...onnxBackend,
  async compile(graph, weights, options) {
    const exe = await onnxBackend.compile(graph, weights, options);
    let tail: Promise<unknown> = Promise.resolve();
    return {
      backend: exe.backend,
      device: exe.device,
      run: (inputs) => {
        const result = tail.then(async () => {
          await new Promise((r) => setTimeout(r, ms));
          return exe.run(inputs);
        });
        tail = result.catch(() => undefined);
        return result;
      },
      dispose: () => exe.dispose(),
      describe: () => exe.describe(),
    };
  },
});

/** 50 ms more per call: a queue forms for certain. */
const slowBackend = delayedBackend(50);

const inferBody = (x: Tensor, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    inputs: [{ name: 'input', shape: x.shape, datatype: 'FP32', data: Array.from(x.data) }],
    ...extra,
  });

/** Sample i of the fixture's input as a [1, 3, 32, 32] tensor. */
const row = (i: number): Tensor => ({
  shape: [1, 3, 32, 32],
  data: fx.input.data.slice(i * sample, (i + 1) * sample),
});

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(fx.atol);
}

describe('cardinal serve (Open Inference Protocol)', () => {
  let server: InferenceServer;
  let base = '';
  beforeAll(async () => {
    server = await serve([entry({ maxBatch: 8, maxDelayMs: 10 })], { port: 0, bodyLimit: 1 << 20 });
    base = `${server.url}/v2`;
  });
  afterAll(() => server.close());

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('answers health, server and model metadata routes', async () => {
    expect(await (await fetch(`${base}/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${base}/health/ready`)).json()).toEqual({ ready: true });
    const meta = (await (await fetch(base)).json()) as { name: string; extensions: string[] };
    expect(meta.name).toBe('cardinal');
    expect(meta.extensions).toContain('binary_tensor_data');
    expect(await (await fetch(`${base}/models/tiny`)).json()).toEqual({
      name: 'tiny',
      versions: ['1'],
      platform: 'cardinal_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 32, 32] }],
      outputs: [{ name: 'fc', datatype: 'FP32', shape: [-1, classes] }],
    });
    const ready = await fetch(`${base}/models/tiny/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
  });

  it('infers JSON tensors (the fixture batch) to PyTorch’s output, with the request id', async () => {
    const res = await post('/models/tiny/infer', inferBody(fx.input, { id: 'req-7' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      id: string;
      outputs: { name: string; shape: number[]; data: number[] }[];
    };
    expect(body.id).toBe('req-7');
    expect(body.outputs[0]!.shape).toEqual(fx.expected.shape);
    expectClose(body.outputs[0]!.data, fx.expected.data);
  });

  it('infers binary tensors in and out (the binary-data extension)', async () => {
    const head = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'input',
            shape: fx.input.shape,
            datatype: 'FP32',
            parameters: { binary_data_size: fx.input.data.byteLength },
          },
        ],
        outputs: [{ name: 'fc', parameters: { binary_data: true } }],
      }),
    );
    const bytes = Buffer.concat([
      head,
      Buffer.from(fx.input.data.buffer, fx.input.data.byteOffset, fx.input.data.byteLength),
    ]);
    const res = await post('/models/tiny/infer', bytes, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(head.length),
    });
    expect(res.status).toBe(200);
    const n = Number(res.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(raw.subarray(0, n).toString()) as {
      outputs: { parameters: { binary_data_size: number } }[];
    };
    expect(json.outputs[0]!.parameters.binary_data_size).toBe(fx.expected.data.byteLength);
    const out = new Float32Array(raw.buffer.slice(raw.byteOffset + n, raw.byteOffset + raw.length));
    expectClose(out, fx.expected.data);
  });

  it('classifies an image body as the library does (same preprocessing, same probabilities)', async () => {
    const res = await post('/models/tiny/classify?top=3', readFileSync(PHOTO), {
      'content-type': 'image/png',
    });
    expect(res.status).toBe(200);
    const got = (await res.json()) as { top: { index: number; prob: number }[] };
    const { graph, weights } = entry();
    const exe = await onnxBackend.compile(graph, weights);
    const x = preprocessImages([await decodeImage(PHOTO)], { ...IMAGENET_DEFAULTS, inputSize: [32, 32] });
    const want = classify((await exe.run({ input: x })).fc!, { top: 3 })[0]!;
    exe.dispose();
    expect(got.top.map((t) => t.index)).toEqual(want.map((t) => t.index));
    for (const [i, t] of want.entries()) expect(Math.abs(got.top[i]!.prob - t.prob)).toBeLessThan(1e-6);
  });

  it('classifies an image uploaded from a form (multipart/form-data) as the raw body', async () => {
    const photo = readFileSync(PHOTO);
    const raw = (await (
      await post('/models/tiny/classify?top=3', photo, { 'content-type': 'image/png' })
    ).json()) as { top: { index: number; prob: number; logit: number }[] };
    const form = new FormData();
    form.append('note', 'a text field before the file');
    form.append('image', new Blob([photo], { type: 'image/png' }), 'chelsea.png');
    const res = await fetch(`${base}/models/tiny/classify?top=3`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const got = (await res.json()) as { top: { index: number; prob: number; logit: number }[] };
    expect(got.top).toEqual(raw.top);
    // A form without a file, and a file over the body limit (1 MiB here): 4xx with one line.
    const noFile = new FormData();
    noFile.append('note', 'no image');
    const empty = await fetch(`${base}/models/tiny/classify`, { method: 'POST', body: noFile });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toBe(
      'multipart body without a file: expected an image in a file field',
    );
    const big = new FormData();
    big.append('image', new Blob([new Uint8Array(2 << 20)], { type: 'image/png' }), 'big.png');
    const tooBig = await fetch(`${base}/models/tiny/classify`, { method: 'POST', body: big });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: string }).error).toBe(
      `body over the limit of ${1 << 20} bytes`,
    );
    // A multipart body whose boundary never comes.
    const broken = await post('/models/tiny/classify', 'no parts here', {
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/^malformed multipart body: [^\n]+$/);
  });

  it('limits: an image over the pixel limit, a body that stalls, an answer slower than the request time', async () => {
    // A PNG of 9,500 x 9,500 (90 million pixels, PIL's limit is 89,478,485) in 90 KB.
    const bomb = await post('/models/tiny/classify', blackPng(9_500, 9_500), { 'content-type': 'image/png' });
    expect(bomb.status).toBe(400);
    expect(((await bomb.json()) as { error: string }).error).toMatch(
      /image is larger than 89478485 pixels \(decompression bomb limit\)/,
    );
    // A backend slower (600 ms) than the request time (300 ms).
    const timed = await serve([entry({}, delayedBackend(600))], { port: 0, requestTimeoutMs: 300 });
    try {
      const t0 = performance.now();
      const late = await fetch(`${timed.url}/v2/models/tiny/infer`, {
        method: 'POST',
        body: inferBody(row(0)),
        headers: { 'content-type': 'application/json' },
      });
      expect(late.status).toBe(503);
      expect(late.headers.get('retry-after')).toBe('1');
      expect(((await late.json()) as { error: string }).error).toBe('not answered within 300 ms');
      expect(performance.now() - t0).toBeLessThan(550);
      // A client that sends half its body and stalls: 408, and the connection is closed.
      const port = Number(new URL(timed.url).port);
      const answer = await new Promise<{ text: string; ms: number }>((resolve) => {
        const start = performance.now();
        let text = '';
        const sock = connect(port, '127.0.0.1', () =>
          sock.write(
            'POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": [',
          ),
        );
        sock.on('data', (d) => {
          text += d;
        });
        sock.on('close', () => resolve({ text, ms: performance.now() - start }));
      });
      expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer.text).toMatch(/\{"error":"request body not received within 300 ms"\}$/);
      expect(answer.ms).toBeLessThan(2000);
      // The late result arrived meanwhile, and did not disturb the server.
      await new Promise((r) => setTimeout(r, 400));
      expect((await fetch(`${timed.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await timed.close();
    }
  });

  it('CORS: off by default; with origins configured, preflight and responses allow those origins only', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(`${url}/v2/models/tiny/infer`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const plain = await preflight(server.url, 'http://app.example');
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const withCors = await serve([entry()], { port: 0, corsOrigins: ['http://app.example'] });
    try {
      const allowed = await preflight(withCors.url, 'http://app.example');
      expect(allowed.status).toBeLessThan(300);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
      expect(allowed.headers.get('access-control-allow-methods')).toMatch(/POST/);
      const other = await preflight(withCors.url, 'http://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const res = await fetch(`${withCors.url}/v2/models/tiny/infer`, {
        method: 'POST',
        body: inferBody(row(0)),
        headers: { 'content-type': 'application/json', origin: 'http://app.example' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');
    } finally {
      await withCors.close();
    }
  });

  it.each([
    ['malformed JSON', '{"inputs": [', {}, 400, /^malformed JSON/],
    [
      'a wrong shape',
      inferBody({ shape: [1, 3, 16, 16], data: new Float32Array(768) }),
      {},
      400,
      /shape \[1, 3, 16, 16\] does not fit \[-1, 3, 32, 32\]/,
    ],
    [
      'a wrong datatype',
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 32, 32], datatype: 'INT64', data: [] }] }),
      {},
      400,
      /datatype must be FP32, got "INT64"/,
    ],
    [
      'a wrong element count',
      JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 3, 32, 32], datatype: 'FP32', data: [1, 2, 3] }],
      }),
      {},
      400,
      /data has 3 elements, its shape holds 3072/,
    ],
    [
      'binary data shorter than its header says',
      Buffer.concat([
        Buffer.from(
          JSON.stringify({
            inputs: [
              {
                name: 'input',
                shape: [1, 3, 32, 32],
                datatype: 'FP32',
                parameters: { binary_data_size: 12288 },
              },
            ],
          }),
        ),
        Buffer.alloc(100),
      ]),
      { 'inference-header-content-length': 'HEAD' },
      400,
      /100 bytes of binary data, the header says 12288/,
    ],
    ['a body over the limit', Buffer.alloc(2 << 20, 32), {}, 413, /body over the limit of 1048576 bytes/],
  ] as const)(
    'answers %s with its 4xx status and a one-line reason',
    async (_what, body, headers, status, message) => {
      const h: Record<string, string> = { ...headers };
      if (h['inference-header-content-length'] === 'HEAD')
        h['inference-header-content-length'] = String((body as Buffer).indexOf(Buffer.from('}]}')) + 3);
      const res = await post('/models/tiny/infer', body, h);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: string };
      expect(json.error).toMatch(message);
      expect(json.error).not.toContain('\n');
    },
  );

  it('answers an unknown model with 404, and the server keeps serving', async () => {
    const res = await post('/models/nope/infer', inferBody(row(0)));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("unknown model 'nope'; serving tiny");
    expect((await post('/models/tiny/infer', inferBody(row(0)))).status).toBe(200);
  });

  it('batches concurrent requests, and every response equals its own unbatched result', async () => {
    // A model that takes 50 ms a call: requests that arrive during a call form the next batch.
    const batching = await serve([entry({ maxBatch: 8, maxDelayMs: 10 }, slowBackend)], { port: 0 });
    const post = (path: string, body: string) =>
      fetch(`${batching.url}/v2${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    const server = batching;
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const count = (text: string, key: string) =>
      Number(new RegExp(`^${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const inputs = Array.from({ length: 16 }, (_, i) => ({
      shape: [1, 3, 32, 32],
      data: row(i % 2).data.map((v) => v * (1 + i / 16)),
    }));
    // One at a time first: the unbatched results.
    const alone: number[][] = [];
    for (const x of inputs)
      alone.push(
        ((await (await post('/models/tiny/infer', inferBody(x))).json()) as { outputs: { data: number[] }[] })
          .outputs[0]!.data,
      );
    const mid = await (await fetch(`${server.url}/metrics`)).text();
    const together = await Promise.all(
      inputs.map(
        async (x) =>
          (
            (await (await post('/models/tiny/infer', inferBody(x))).json()) as {
              outputs: { data: number[] }[];
            }
          ).outputs[0]!.data,
      ),
    );
    const after = await (await fetch(`${server.url}/metrics`)).text();
    for (const [i, t] of together.entries()) expectClose(t, alone[i]!);
    const batchesAlone =
      count(mid, 'cardinal_batch_size_count\\{model="tiny"\\}') -
      count(before, 'cardinal_batch_size_count\\{model="tiny"\\}');
    const batchesTogether =
      count(after, 'cardinal_batch_size_count\\{model="tiny"\\}') -
      count(mid, 'cardinal_batch_size_count\\{model="tiny"\\}');
    expect(batchesAlone).toBe(16);
    expect(batchesTogether).toBeLessThan(16);
    expect(after).toMatch(/cardinal_requests_total\{route="\/v2\/models\/:name\/infer",status="200"\}/);
    expect(after).toMatch(/cardinal_request_duration_seconds_bucket/);
    // The tuner's measure of a lone sample: the slow backend's 50 ms and the tiny model's run.
    const lone = Number(
      /^cardinal_batch_sample_seconds\{model="tiny",size="1"\} ([\d.e+-]+)/m.exec(after)?.[1],
    );
    expect(lone).toBeGreaterThanOrEqual(0.05);
    expect(lone).toBeLessThan(0.2);
    expect(after).toMatch(/^cardinal_batch_limit\{model="tiny"\} [1-8]$/m);
    await batching.close();
  });

  it('replicas: two copies of the model run batches side by side, every response its own unbatched result', async () => {
    // The slow backend, counting for each copy compiled the calls it was given and held at once.
    const copies: { calls: number; held: number; mostHeld: number }[] = [];
    const counting: Backend = {
      ...slowBackend,
      async compile(graph, weights, options) {
        const exe = await slowBackend.compile(graph, weights, options);
        const copy = { calls: 0, held: 0, mostHeld: 0 };
        copies.push(copy);
        return {
          ...exe,
          run: async (inputs) => {
            copy.calls++;
            copy.mostHeld = Math.max(copy.mostHeld, ++copy.held);
            try {
              return await exe.run(inputs);
            } finally {
              copy.held--;
            }
          },
        };
      },
    };
    const server = await serve([{ ...entry({ maxBatch: 4, maxDelayMs: 10 }, counting), replicas: 2 }], {
      port: 0,
    });
    try {
      expect(copies).toHaveLength(2);
      expect(server.models.get('tiny')!.replicas).toBe(2);
      expect(server.models.get('tiny')!.describe()).toMatch(/2 replicas$/);
      const infer = async (x: Tensor) =>
        (
          (await (
            await fetch(`${server.url}/v2/models/tiny/infer`, {
              method: 'POST',
              body: inferBody(x),
              headers: { 'content-type': 'application/json' },
            })
          ).json()) as { outputs: { data: number[] }[] }
        ).outputs[0]!.data;
      const inputs = Array.from({ length: 24 }, (_, i) => ({
        shape: [1, 3, 32, 32],
        data: row(i % 2).data.map((v) => v * (1 + i / 24)),
      }));
      const alone: number[][] = [];
      for (const x of inputs) alone.push(await infer(x));
      const together = await Promise.all(inputs.map(infer));
      for (const [i, t] of together.entries()) expectClose(t, alone[i]!);
      // Both copies served, each holding a running call and at most one behind it.
      for (const c of copies) {
        expect(c.calls).toBeGreaterThan(3);
        expect(c.mostHeld).toBeLessThanOrEqual(2);
      }
    } finally {
      await server.close();
    }
  });

  it('binary requests in flight together (memory reused across requests and batches) each get their own answer', async () => {
    const server = await serve([entry({ maxBatch: 4, maxDelayMs: 10 }, slowBackend)], { port: 0 });
    const binary = (x: Tensor) => {
      // An odd-length header: the tensor bytes land unaligned in the body as sent.
      const head = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: 'input',
              shape: x.shape,
              datatype: 'FP32',
              parameters: { binary_data_size: 4 * x.data.length },
            },
          ],
          id: 'x',
        }).padEnd(129, ' '),
      );
      return fetch(`${server.url}/v2/models/tiny/infer`, {
        method: 'POST',
        body: Buffer.concat([head, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)]),
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(head.length),
        },
      });
    };
    const inputs = Array.from({ length: 12 }, (_, i) => ({
      shape: [1, 3, 32, 32],
      data: row(i % 2).data.map((v) => v * (1 - i / 24)),
    }));
    const logits = async (res: Response) =>
      ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data;
    const alone: number[][] = [];
    for (const x of inputs) alone.push(await logits(await binary(x)));
    // Twice over, so the second round runs on memory the first gave back.
    for (let round = 0; round < 2; round++) {
      const together = await Promise.all(inputs.map(async (x) => logits(await binary(x))));
      for (const [i, t] of together.entries()) {
        expectClose(t, alone[i]!);
        if (i > 0) expect(t).not.toEqual(together[i - 1]);
      }
    }
    await server.close();
  });

  it('soak: 10,000 requests, no 5xx, every answer right, RSS flat', async () => {
    const want = (await (await post('/models/tiny/infer', inferBody(row(1)))).json()) as {
      outputs: { data: number[] }[];
    };
    const body = inferBody(row(1));
    let next = 0;
    let bad = 0;
    const rss: number[] = [];
    const worker = async () => {
      while (next < 10_000) {
        const i = next++;
        const res = await post('/models/tiny/infer', body);
        const json = (await res.json()) as { outputs: { data: number[] }[] };
        if (res.status !== 200 || Math.abs(json.outputs[0]!.data[0]! - want.outputs[0]!.data[0]!) > fx.atol)
          bad++;
        if (i % 2500 === 0) rss.push(settledRssMiB());
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    rss.push(settledRssMiB());
    console.log(
      `soak: 10,000 requests, ${bad} bad; RSS MiB at 0/2.5k/5k/7.5k/10k: ${rss.map((r) => r.toFixed(0)).join(', ')}`,
    );
    expect(bad).toBe(0);
    // A leak grows with the requests; the first half also holds the warm-up (JIT, the
    // allocator's arenas for 16 concurrent clients), which on a loaded 2-core CI machine took
    // 50-70 MiB. So: the second half, 5,000 requests, may add at most 32 MiB (a leak of
    // 6.7 KB per request would fail).
    expect(rss.at(-1)! - rss[2]!).toBeLessThan(32);
  }, 300_000);
});

describe('overload', () => {
  it('answers 503 with Retry-After past a small queue, no wrong answer, and serves normally after', async () => {
    const server = await serve([entry({ maxBatch: 1, maxDelayMs: 0, maxQueue: 2 }, slowBackend)], {
      port: 0,
    });
    try {
      const url = `${server.url}/v2/models/tiny/infer`;
      // 64 samples a request, as binary data: quick to read, slow enough to run that a queue forms.
      const big = new Float32Array(64 * sample);
      for (let i = 0; i < 32; i++) big.set(fx.input.data, i * fx.input.data.length);
      const head = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: 'input',
              shape: [64, 3, 32, 32],
              datatype: 'FP32',
              parameters: { binary_data_size: big.byteLength },
            },
          ],
        }),
      );
      const body = Buffer.concat([head, Buffer.from(big.buffer)]);
      const send = () =>
        fetch(url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(head.length),
          },
        });
      const rssBefore = settledRssMiB();
      const results = await Promise.all(Array.from({ length: 100 }, send));
      const rssAfter = settledRssMiB();
      const statuses = results.map((r) => r.status);
      const busy = results.filter((r) => r.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      for (const r of busy) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(((await r.json()) as { error: string }).error).toMatch(/queue full \(2 requests waiting\)/);
      }
      for (const r of results.filter((x) => x.status === 200)) {
        const out = ((await r.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data;
        for (let i = 0; i < 32; i++)
          expectClose(out.slice(i * 2 * classes, (i + 1) * 2 * classes), fx.expected.data);
      }
      const after = await send();
      expect(after.status).toBe(200);
      // The metrics count what the clients saw: every 503, and the queue empty again.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const errors = /^cardinal_errors_total\{route="\/v2\/models\/:name\/infer",status="503"\} (\d+)$/m.exec(
        metrics,
      );
      expect(Number(errors?.[1])).toBe(busy.length);
      expect(metrics).toMatch(/^cardinal_queue_depth\{model="tiny"\} 0$/m);
      console.log(
        `overload: 100 at once, queue 2: ${results.length - busy.length} answered, ${busy.length} told to retry; RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB`,
      );
      expect(rssAfter - rssBefore).toBeLessThan(256);
    } finally {
      await server.close();
    }
  });
});

describe('a model whose weights are an initialisation', () => {
  let server: InferenceServer;
  beforeAll(async () => {
    // As `cardinal serve resnext50_32x4d` without --weights: modelEntry of an opened model.
    const { graph, weights } = entry();
    const opened = {
      graph,
      weights,
      preprocess: { ...IMAGENET_DEFAULTS, inputSize: [32, 32] as [number, number] },
      description: { weights: 'initialised' as const },
    };
    server = await serve([modelEntry(opened, onnxBackend, 'random')], { port: 0 });
  });
  afterAll(() => server.close());

  it('says so in the model metadata, every infer response and every classify answer', async () => {
    const meta = (await (await fetch(`${server.url}/v2/models/random`)).json()) as {
      parameters?: { random_weights: boolean; warning: string };
    };
    expect(meta.parameters).toEqual({ random_weights: true, warning: RANDOM_WEIGHTS_WARNING });
    const res = await fetch(`${server.url}/v2/models/random/infer`, {
      method: 'POST',
      body: inferBody(row(0)),
      headers: { 'content-type': 'application/json' },
    });
    const body = (await res.json()) as { parameters?: { random_weights: boolean }; outputs: unknown[] };
    expect(res.status).toBe(200);
    expect(body.parameters?.random_weights).toBe(true);
    expect(body.outputs).toHaveLength(1);
    const cls = await fetch(`${server.url}/v2/models/random/classify`, {
      method: 'POST',
      body: readFileSync(PHOTO),
      headers: { 'content-type': 'application/octet-stream' },
    });
    const answer = (await cls.json()) as { random_weights?: boolean; warning?: string; top: unknown[] };
    expect(cls.status).toBe(200);
    expect(answer.random_weights).toBe(true);
    expect(answer.warning).toMatch(/^RANDOM WEIGHTS/);
    expect(answer.top).toHaveLength(5);
  });

  it('a model with weights from a file carries no such mark', async () => {
    const { graph, weights } = entry();
    const e = modelEntry(
      { graph, weights, preprocess: IMAGENET_DEFAULTS, description: { weights: 'file' } },
      onnxBackend,
      'trained',
    );
    expect(e.randomWeights).toBeUndefined();
  });
});
