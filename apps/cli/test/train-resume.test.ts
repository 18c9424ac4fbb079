import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readSafetensors } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-resume-'));
const config = join(tmp, 'net.json');
writeFileSync(
  config,
  JSON.stringify({ block: 'BasicBlock', layers: [1, 1], channels: [8, 16], num_classes: 10 }),
);
const other = join(tmp, 'other.json');
writeFileSync(
  other,
  JSON.stringify({ block: 'BasicBlock', layers: [1, 1], channels: [8, 24], num_classes: 10 }),
);
const bin = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
// SGD with momentum and a cosine schedule, augmented, data-parallel over two threads: every
// piece of state a resume must restore.
const args = (out: string, backend: string[] = ['--workers', '2']) => [
  'train',
  config,
  '--data',
  'synthetic',
  '--train-size',
  '256',
  '--val-size',
  '64',
  '--batch-size',
  '32',
  '--epochs',
  '4',
  '--optimizer',
  'sgd',
  '--nesterov',
  '--lr',
  '0.05',
  '--schedule',
  'cosine',
  '--augment',
  'crop-flip',
  '--seed',
  '3',
  ...backend,
  '--out',
  out,
];
const ONNX = ['--backend', 'onnx'];

/** Runs the built CLI and sends SIGTERM once the first epoch (and its checkpoint) is done. */
function interrupted(out: string, backend?: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [bin, ...args(out, backend)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/epoch 1\/4/.test(stderr) && !p.killed) p.kill('SIGTERM');
    });
    p.on('exit', (code) => done({ code, stderr }));
  });
}

describe.skipIf(!existsSync(bin))('cardinal train: run folder, checkpoints and --resume', () => {
  it("a run stopped by SIGTERM and resumed ends with the uninterrupted run's weights, bit for bit", async () => {
    const whole = join(tmp, 'whole.safetensors');
    const r = await cli(...args(whole));
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['checkpoint.safetensors', 'metrics.jsonl', 'curves.svg'])
      expect(existsSync(join(tmp, 'whole-run', f)), f).toBe(true);
    expect(
      readFileSync(join(tmp, 'whole-run', 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(4);
    expect(readFileSync(join(tmp, 'whole-run', 'curves.svg'), 'utf8')).toMatch(/^<svg[^>]*>.*polyline/s);

    const parts = join(tmp, 'parts.safetensors');
    const stopped = await interrupted(parts);
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(
      /stopped by SIGTERM in epoch \d; the checkpoint after epoch \d is in .*parts-run \(continue with --resume\)/,
    );
    expect(existsSync(parts)).toBe(false);
    const resumed = await cli(...args(parts), '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*parts-run after epoch \d/);
    expect(resumed.stderr).toMatch(/data-parallel over 2 threads/);

    const a = readSafetensors(readFileSync(whole));
    const b = readSafetensors(readFileSync(parts));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a)
      expect(Buffer.from(b.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    expect(
      readFileSync(join(tmp, 'parts-run', 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(4);
  }, 300_000);

  it('on onnx: a rerun gives the same weights byte for byte, and a stopped run resumed gives them too', async () => {
    const sameBytes = (p: string, q: string) => {
      const a = readSafetensors(readFileSync(p));
      const b = readSafetensors(readFileSync(q));
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [k, t] of a)
        expect(Buffer.from(b.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    };
    const first = join(tmp, 'onnx-1.safetensors');
    const r1 = await cli(...args(first, ONNX));
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/ on onnx, onnx training \(onnxruntime-node/);
    const second = join(tmp, 'onnx-2.safetensors');
    const r2 = await cli(...args(second, ONNX));
    expect(r2.code, r2.stderr).toBe(0);
    sameBytes(first, second);
    const parts = join(tmp, 'onnx-parts.safetensors');
    const stopped = await interrupted(parts, ONNX);
    expect(stopped.code, stopped.stderr).toBe(1);
    const resumed = await cli(...args(parts, ONNX), '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    sameBytes(first, parts);
  }, 300_000);

  it('refuses, in one line and writing nothing: an existing run folder, --resume with other --workers, and --resume from another architecture', async () => {
    const again = await cli(...args(join(tmp, 'x.safetensors')), '--run', join(tmp, 'whole-run'));
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(
      /whole-run: the run folder exists \(--resume continues it, --force starts it over\)/,
    );

    const ranks = await cli(
      ...args(join(tmp, 'y.safetensors')),
      '--run',
      join(tmp, 'whole-run'),
      '--resume',
      '--workers',
      '1',
    );
    expect(ranks.code).toBe(1);
    expect(ranks.stderr.trim().split('\n')).toHaveLength(1);
    expect(ranks.stderr).toMatch(
      /whole-run: the run was made with --workers 2, not 1; resume it with --workers 2/,
    );
    expect(existsSync(join(tmp, 'y.safetensors'))).toBe(false);

    cpSync(join(tmp, 'whole-run'), join(tmp, 'other-run'), { recursive: true });
    const out = join(tmp, 'other.safetensors');
    const wrong = await cli(
      'train',
      other,
      '--data',
      'synthetic',
      '--out',
      out,
      '--run',
      join(tmp, 'other-run'),
      '--resume',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(
      /checkpoint\.safetensors: a checkpoint of another architecture \('layer2\.0\.conv1\.weight' is \[16, 8, 3, 3\], the model's \[24, 8, 3, 3\]\)/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
