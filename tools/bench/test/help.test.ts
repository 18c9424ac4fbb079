import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '..', 'dist', 'cli.js');
const TORCH = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!TORCH)
  console.log('skipped the train suite row test: Debian python3-torch missing (apt install python3-torch)');

describe.skipIf(!existsSync(CLI))('pnpm bench as a user calls it', () => {
  it('--help prints the usage and exits 0', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: pnpm bench/);
    expect(r.stderr).toBe('');
  });

  it('an unknown flag is one line of usage error, exit 2, no stack trace', () => {
    const r = spawnSync(process.execPath, [CLI, '--nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^bench: unknown option '--nope'/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--suite train with an unknown backend is one line, exit 2', () => {
    const r = spawnSync(process.execPath, [CLI, '--suite', 'train', '--backend', 'cuda'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("bench --suite train: unknown --backend 'cuda' (known: onnx, tfjs, webgpu)");
  });

  it.skipIf(!TORCH)(
    '--suite train --json prints one row per backend and network as a JSON array on its last line',
    () => {
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          '--suite',
          'train',
          '--backend',
          'onnx',
          '--network',
          'fashion_resnext',
          '--rounds',
          '1',
          '--steps',
          '1',
          '--warmup',
          '1',
          '--json',
        ],
        { encoding: 'utf8', timeout: 240_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(row).toMatchObject({
        network: 'fashion_resnext',
        backend: 'onnx',
        batch: 64,
        frozen: false,
        params: 209_034,
      });
      expect(row.cardinal).toMatch(/^onnx training \(onnxruntime-node/);
      expect(row.cardinal_img_s).toBeGreaterThan(0);
      expect(row.pytorch_img_s).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.cardinal_img_s / row.pytorch_img_s, 2);
    },
    300_000,
  );
});
