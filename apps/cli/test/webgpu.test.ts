import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { readNpy } from '@cardinal/core';
import { compareToExpected, fixturePath, loadFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-cli-webgpu-'));
const pnpm = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('pnpm', args, { encoding: 'utf8', maxBuffer: 1 << 26, env });
const availability = await webgpuBackend.isAvailable();
if (!availability.available) console.warn(`skipping CLI WebGPU runs: ${availability.reason}`);

describe('cardinal run --backend webgpu', () => {
  it.skipIf(!availability.available).each(['tiny_resnext', 'extra/skresnext_odd'])(
    '`pnpm cardinal run <meta.json> --backend webgpu --weights --input --out` matches output.bin (%s)',
    (name) => {
      const f = loadFixture(name);
      const out = join(tmp, `${name.replace('/', '_')}.npy`);
      const r = pnpm([
        'cardinal',
        'run',
        join(fixturePath(name), 'meta.json'),
        '--backend',
        'webgpu',
        '--weights',
        f.weightsPath,
        '--input',
        join(f.dir, 'input.bin'),
        '--shape',
        f.meta.input_shape.join(','),
        '--out',
        out,
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/webgpu \(Dawn/);
      const cmp = compareToExpected(readNpy(readFileSync(out)), f.expected, f.atol);
      expect(cmp.maxAbsDiff).toBeLessThanOrEqual(f.atol);
    },
  );

  it('with no adapter, prints why in one line and exits 1', () => {
    const r = pnpm(['cardinal', 'run', 'resnet18', '--random-input', '--backend', 'webgpu'], {
      ...process.env,
      EGL_PLATFORM: 'no-such-platform',
      VK_ICD_FILENAMES: '/nonexistent.json',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /backend 'webgpu' is not available here: no WebGPU adapter: .*OpenGL backend found no adapter/,
    );
    // Dawn prints its own native warnings; what Cardinal adds is one line, no JS stack.
    expect(r.stderr).not.toMatch(/at .*\.[cm]?[jt]s:\d+:\d+/);
  });
});
