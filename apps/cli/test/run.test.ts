import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, readSafetensors } from '@cardinal/core';
import { compareToExpected, fixturePath, listFixtures, loadFixture } from '@cardinal/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-cli-'));

describe('cardinal run --backend reference reproduces every fixture', () => {
  it.each(listFixtures())('%s', async (name) => {
    const f = loadFixture(name);
    const out = join(tmp, `${name.replace('/', '_')}.npy`);
    const r = await cli(
      'run',
      join(fixturePath(name), 'meta.json'),
      '--backend',
      'reference',
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.bin'),
      '--shape',
      f.meta.input_shape.join(','),
      '--out',
      out,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cmp = compareToExpected(readNpy(readFileSync(out)), f.expected, f.atol);
    expect(cmp.maxAbsDiff).toBeLessThanOrEqual(f.atol);
  });
});

// Every fixture with timm's features_only maps: the logits to --out and the maps to --features in
// one run, each map within its atol, keyed feature.<index>, described as timm's feature_info.
const withFeatures = listFixtures().filter((n) => existsSync(join(fixturePath(n), 'features.safetensors')));

describe('cardinal run --features writes the feature maps timm returns', () => {
  it('has a fixture with feature maps', () => expect(withFeatures.length).toBeGreaterThanOrEqual(1));

  it.each(withFeatures.flatMap((n) => ['reference', 'onnx', 'tfjs'].map((b) => [n, b] as const)))(
    '%s on %s',
    async (name, backend) => {
      const f = loadFixture(name);
      const stem = join(tmp, `${name.replace('/', '_')}-${backend}`);
      const r = await cli(
        'run',
        join(f.dir, 'meta.json'),
        '--backend',
        backend,
        '--weights',
        f.weightsPath,
        '--input',
        join(f.dir, 'input.npy'),
        '--out',
        `${stem}.npy`,
        '--features',
        `${stem}.safetensors`,
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      expect(compareToExpected(readNpy(readFileSync(`${stem}.npy`)), f.expected, f.atol).pass).toBe(true);
      const got = readSafetensors(readFileSync(`${stem}.safetensors`), 'features');
      const want = readSafetensors(readFileSync(f.features!.path), 'expected');
      expect([...got.keys()]).toEqual(f.features!.keys);
      f.features!.keys.forEach((key, i) => {
        const cmp = compareToExpected(got.get(key)!, want.get(key)!, f.features!.atol[i]!);
        expect(cmp.maxAbsDiff, `${key}: ${cmp.maxAbsDiff} vs ${cmp.atol}`).toBeLessThanOrEqual(cmp.atol);
      });
      const j = JSON.parse(r.stdout);
      expect(
        j.features.map((m: { module: string; num_chs: number; reduction: number }) => [
          m.module,
          m.num_chs,
          m.reduction,
        ]),
      ).toEqual(f.features!.featureInfo.map((m) => [m.module, m.num_chs, m.reduction]));
    },
  );

  it('refuses an out index outside the model, naming the range', async () => {
    const r = await cli(
      'run',
      'resnet18',
      '--random-input',
      '--input-size',
      '32',
      '--features',
      join(tmp, 'x.safetensors'),
      '--out-indices',
      '0,7',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/out index 7 is outside this model's maps 0\.\.4/);
  });
});

describe('cardinal run: output and the pnpm entry point', () => {
  it('reads .npy input and prints top-5 per sample without --out', async () => {
    const f = loadFixture('tiny_resnet_basic');
    const r = await cli(
      'run',
      join(f.dir, 'meta.json'),
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.npy'),
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.output_shape).toEqual([2, 10]);
    // The top class of each sample is the argmax of the PyTorch logits.
    for (let s = 0; s < 2; s++) {
      const row = Array.from(f.expected.data.subarray(s * 10, s * 10 + 10));
      expect(j.top5[s][0].index).toBe(row.indexOf(Math.max(...row)));
      expect(Math.abs(j.top5[s][0].logit - Math.max(...row))).toBeLessThan(f.atol);
    }
  });

  it.each(['reference', 'onnx'])(
    'works as `pnpm cardinal run <meta.json> --backend %s` from the repo root',
    (backend) => {
      const f = loadFixture('tiny_seresnext_d');
      const out = join(tmp, `pnpm-run-${backend}.npy`);
      const args = [
        'cardinal',
        'run',
        join(f.dir, 'meta.json'),
        '--backend',
        backend,
        '--weights',
        f.weightsPath,
      ];
      const r = spawnSync('pnpm', [...args, '--input', join(f.dir, 'input.npy'), '--out', out], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        { onnx: 'CPU execution provider', tfjs: 'wasm runtime', reference: 'reference' }[backend]!,
      );
      expect(compareToExpected(readNpy(readFileSync(out)), f.expected, f.atol).pass).toBe(true);
    },
  );
});

describe('cardinal run: bad invocations give one line and a non-zero exit', () => {
  const f = loadFixture('tiny_resnet_basic');
  const meta = join(f.dir, 'meta.json');
  const existing = join(tmp, 'existing.npy');
  writeFileSync(existing, 'precious');

  const cases: [string, string[], RegExp, number][] = [
    ['unknown model', ['run', 'resnet9000', '--random-input'], /unknown model 'resnet9000'/, 1],
    [
      'missing input file',
      ['run', meta, '--input', join(tmp, 'nope.npy')],
      /nope\.npy: input file not found/,
      1,
    ],
    [
      'missing weights file',
      ['run', meta, '--random-input', '--weights', join(tmp, 'w.safetensors')],
      /w\.safetensors: weights file not found/,
      1,
    ],
    [
      'raw input without --shape',
      ['run', meta, '--input', join(f.dir, 'input.bin')],
      /needs --shape N,C,H,W/,
      2,
    ],
    [
      '--shape that does not match the file size',
      ['run', meta, '--input', join(f.dir, 'input.bin'), '--shape', '2,3,32,31'],
      /holds 24576 bytes but shape \[2, 3, 32, 31\] needs 23808/,
      1,
    ],
    [
      'malformed --shape',
      ['run', meta, '--input', join(f.dir, 'input.bin'), '--shape', '2,x'],
      /--shape must be comma-separated positive integers/,
      2,
    ],
    [
      'unreadable input (a directory)',
      ['run', meta, '--input', tmp],
      /input file is a directory, expected a regular file/,
      1,
    ],
    [
      'unreadable weights (not safetensors)',
      ['run', meta, '--random-input', '--weights', meta],
      /meta\.json: header length \d+ is beyond the end of the file/,
      1,
    ],
    [
      'input that is not 4-D',
      ['run', meta, '--input', join(f.dir, 'input.bin'), '--shape', '2,3,32,32,1'],
      /input must be 4-D \[N, C, H, W\], got \[2, 3, 32, 32, 1\]/,
      2,
    ],
    [
      'unknown backend',
      ['run', meta, '--random-input', '--backend', 'tpu'],
      /unknown backend 'tpu'; known backends: reference, onnx, tfjs, webgpu/,
      2,
    ],
    ['unknown flag', ['run', meta, '--random-input', '--colour'], /run: unknown option '--colour'/, 2],
    ['unknown command', ['train-me'], /unknown command 'train-me'/, 2],
    [
      'output in a missing folder',
      ['run', meta, '--random-input', '--out', join(tmp, 'no', 'such', 'dir', 'y.npy')],
      /output folder .* does not exist/,
      1,
    ],
    [
      'existing output without --force',
      ['run', meta, '--random-input', '--out', existing],
      /already exists \(use --force to overwrite\)/,
      1,
    ],
    [
      'output with an unknown extension',
      ['run', meta, '--random-input', '--out', join(tmp, 'y.txt')],
      /output must end in \.npy or \.bin/,
      2,
    ],
    [
      'weights that do not fit',
      ['run', 'resnet18', '--random-input', '--input-size', '32', '--weights', f.weightsPath],
      /weights\.safetensors: weights do not match the graph: 40 missing: layer1\.1\.conv1\.weight, .*; 6 unexpected: layer1\.0\.downsample\.0\.weight, .*; 57 mis-shaped: layer1\.0\.conv1\.weight \(expected \[64, 64, 3, 3\], got \[16, 64, 3, 3\]\)/,
      1,
    ],
    [
      'a config with an unknown key',
      ['run', join(tmp, 'bad-config.json'), '--random-input'],
      /bad-config\.json: .*stem_widht/,
      1,
    ],
  ];
  writeFileSync(
    join(tmp, 'bad-config.json'),
    JSON.stringify({ block: 'BasicBlock', layers: [1, 1], stem_widht: 3 }),
  );

  let tried = 0;
  let failures = 0;
  afterAll(() => console.log(`CLI error cases: ${tried} tried, ${failures} failures`));

  it.each(cases)('%s', async (_label, argv, message, code) => {
    tried++;
    failures++;
    const r = await cli(...argv);
    expect(r.code).toBe(code);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^cardinal: error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
    failures--;
  });

  it('--tfjs-backend cpu forces the pure-JS tfjs backend and still matches', async () => {
    const out = join(tmp, 'tfjs-cpu.npy');
    const r = await cli(
      'run',
      meta,
      '--backend',
      'tfjs',
      '--tfjs-backend',
      'cpu',
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.npy'),
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("cpu runtime, 'cpu' backend");
    expect(compareToExpected(readNpy(readFileSync(out)), f.expected, f.atol).pass).toBe(true);
  });

  it('--force replaces an existing output atomically and leaves no temp files', async () => {
    const target = join(tmp, 'forced.npy');
    writeFileSync(target, 'old');
    const r = await cli(
      'run',
      meta,
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.npy'),
      '--out',
      target,
      '--force',
    );
    expect(r.code).toBe(0);
    expect(readNpy(readFileSync(target)).shape).toEqual([2, 10]);
    expect(existsSync(target)).toBe(true);
    expect(spawnSync('ls', ['-a', tmp], { encoding: 'utf8' }).stdout).not.toMatch(/\.tmp/);
  });
});
