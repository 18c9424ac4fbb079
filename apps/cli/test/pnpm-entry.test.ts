import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGENET_1K_LABELS } from '@cardinal/core';
import { describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-pnpm-'));
const pnpm = (...args: string[]) => spawnSync('pnpm', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
const checker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
if (!checker)
  console.warn(
    'skipping the checker step: /usr/bin/python3 with onnx (Debian python3-onnx) is not installed',
  );

describe('the commands as a user types them from the repo root', () => {
  it.each([
    [['start', '--backend', 'reference', '--input-size', '64']],
    [['start', '--', '--backend', 'reference', '--input-size', '64']],
  ])('`pnpm %s` prints ImageNet labels under the random-weights banner', (args) => {
    const r = pnpm(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^resnext50_32x4d on reference .*input 1x3x64x64 -> output 1x1000/m);
    expect(r.stdout).toMatch(/^RANDOM WEIGHTS: these classes mean nothing\..*fashion_resnext/m);
    // Five rows of probability, ImageNet's label and the index, best first.
    const rows = [...r.stdout.matchAll(/^ +(\d+\.\d\d)% {2}(.+) \((\d+), logit (-?\d+\.\d+)\)$/gm)];
    expect(rows).toHaveLength(5);
    const labels = IMAGENET_1K_LABELS;
    for (const m of rows) expect(m[2]).toBe(labels[Number(m[3])]);
    const probs = rows.map((m) => Number(m[1]));
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
  });

  it('`pnpm cardinal summary resnet50 --json` prints only JSON, with PyTorch params', () => {
    const r = pnpm('cardinal', 'summary', 'resnet50', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).params).toBe(25_557_032);
  });

  it.skipIf(!checker)(
    '`pnpm cardinal export resnext50_32x4d --format onnx` passes the ONNX checker (full_check) and loads at batch 1 and 4',
    () => {
      const out = join(tmp, 'r.onnx');
      const r = pnpm('cardinal', 'export', 'resnext50_32x4d', '--format', 'onnx', '--out', out);
      expect(r.status, r.stderr).toBe(0);
      const check = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")',
          out,
        ],
        { encoding: 'utf8' },
      );
      expect(check.stderr).toBe('');
      expect(check.stdout.trim()).toBe('ok');
      const script = [
        "const ort = require('onnxruntime-node');",
        '(async () => {',
        `  const s = await ort.InferenceSession.create(${JSON.stringify(out)});`,
        '  for (const n of [1, 4]) {',
        "    const y = await s.run({ input: new ort.Tensor('float32', new Float32Array(n * 3 * 224 * 224), [n, 3, 224, 224]) });",
        '    console.log(y[s.outputNames[0]].dims.join("x"));',
        '  }',
        '})();',
      ].join('\n');
      const load = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        cwd: join(import.meta.dirname, '..'),
      });
      expect(load.status, load.stderr).toBe(0);
      expect(load.stdout.trim().split('\n')).toEqual(['1x1000', '4x1000']);
    },
    120_000,
  );
});
