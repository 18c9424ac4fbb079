import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mulberry32 } from '@cardinal/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

/**
 * Weights that `cardinal train` made carry the normalisation they were trained with. The server
 * opens models with the same rule as `cardinal classify` (pretrained's openModel), so a served
 * trained model answers as classify does; before, serve used the defaults (mean 0.5, crop 0.875).
 */
const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-serve-trained-'));
const config = join(tmp, 'gray.json');
const weights = join(tmp, 'gray.safetensors');
const images = [0, 1, 2].map((i) => join(tmp, `probe-${i}.png`));

/** An IDX file: magic, dimensions, bytes. */
function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([head, data]);
}

/** Bright images (pixel mean near 0.7, far from the 0.5 default), each class a brighter band. */
function split(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rand = mulberry32(seed);
  const pixels = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const k = s % 3;
    labels[s] = k;
    for (let p = 0; p < 784; p++) {
      const band = Math.floor(p / 28 / 10) === k ? 80 : 0;
      pixels[s * 784 + p] = Math.min(255, 140 + band + Math.floor(rand() * 40));
    }
  }
  return { images: pixels, labels };
}

beforeAll(async () => {
  writeFileSync(
    config,
    JSON.stringify({ block: 'BasicBlock', layers: [1, 1], channels: [8, 16], in_chans: 1, num_classes: 3 }),
  );
  const data = join(tmp, 'idx');
  mkdirSync(data);
  const train = split(120, 1);
  const test = split(30, 2);
  writeFileSync(join(data, 'train-images-idx3-ubyte'), idx(0x803, [120, 28, 28], train.images));
  writeFileSync(join(data, 'train-labels-idx1-ubyte'), idx(0x801, [120], train.labels));
  writeFileSync(join(data, 't10k-images-idx3-ubyte'), idx(0x803, [30, 28, 28], test.images));
  writeFileSync(join(data, 't10k-labels-idx1-ubyte'), idx(0x801, [30], test.labels));
  const r = await cli(
    'train',
    config,
    '--data',
    data,
    '--val-size',
    '20',
    '--epochs',
    '1',
    '--workers',
    '1',
    '--out',
    weights,
    '--json',
  );
  expect(r.code, r.stderr).toBe(0);
  // Probes larger than the model's input: the crop (1 stored, 0.875 by default) changes what it sees.
  const probes = split(3, 3);
  for (const [i, path] of images.entries())
    await sharp(Buffer.from(probes.images.subarray(i * 784, (i + 1) * 784)), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .resize(40, 40, { kernel: 'nearest' })
      .png()
      .toFile(path);
}, 120_000);

let server: ChildProcess | undefined;
afterAll(() => server?.kill('SIGTERM'));

/** `cardinal serve` as a process; resolves with its URL. */
function startServer(args: string[]): Promise<string> {
  server = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((res, rej) => {
    server!.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/[\d.:]+)/.exec(out);
      if (m) res(m[1]!);
    });
    server!.on('exit', (code) => rej(new Error(`serve exited ${code}: ${err}`)));
  });
}

interface Scored {
  index: number;
  label: string;
  prob: number;
}

/** `cardinal classify` of the probes with the trained weights (and any flags), its top 3 each. */
async function classifyProbes(...flags: string[]): Promise<{ top: Scored[] }[]> {
  const r = await cli(
    'classify',
    ...images,
    '--model',
    config,
    '--weights',
    weights,
    ...flags,
    '--top',
    '3',
    '--json',
  );
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { results: { top: Scored[] }[] }).results;
}

describe('a model trained by cardinal train, served', () => {
  it('gives the same top-1 and probabilities through cardinal serve as through cardinal classify', async () => {
    const stored = JSON.parse(
      JSON.parse(
        readFileSync(weights)
          .subarray(8, 8 + Number(readFileSync(weights).readBigUInt64LE(0)))
          .toString(),
      ).__metadata__['cardinal.normalize'],
    ) as { mean: number[] };
    expect(stored.mean[0]).toBeGreaterThan(0.6);

    const ours = await classifyProbes();

    const url = await startServer([config, '--weights', weights, '--name', 'gray', '--port', '0', '--quiet']);
    for (const [i, path] of images.entries()) {
      const res = await fetch(`${url}/v2/models/gray/classify?top=3`, {
        method: 'POST',
        body: readFileSync(path),
        headers: { 'content-type': 'image/png' },
      });
      expect(res.status).toBe(200);
      const served = ((await res.json()) as { top: Scored[] }).top;
      expect(served[0]!.index, `image ${i}`).toBe(ours[i]!.top[0]!.index);
      for (const [k, t] of served.entries()) {
        expect(t.index).toBe(ours[i]!.top[k]!.index);
        expect(t.prob).toBeCloseTo(ours[i]!.top[k]!.prob, 6);
      }
    }

    // The rule matters: the defaults (mean and std 0.5, crop 0.875) give other probabilities.
    const other = await classifyProbes('--mean', '0.5', '--std', '0.5', '--crop-pct', '0.875');
    const moved = other.map((r, i) =>
      Math.abs(r.top[0]!.prob - ours[i]!.top.find((t) => t.index === r.top[0]!.index)!.prob),
    );
    expect(Math.max(...moved)).toBeGreaterThan(1e-3);
  }, 120_000);
});
