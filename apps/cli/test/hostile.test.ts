import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeNpy } from '@cardinal/core';
import { fixturesDir } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { blackPng } from './helpers.js';

/**
 * Every case of the "hostile use" review, as the user would type it, in a child process: the
 * exit code, one line on stderr naming the cause, no exit 70, nothing written over an input,
 * and refusals of unbounded work within two seconds.
 */
const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const F = join(fixturesDir(), 'tiny_resnext');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-hostile-'));
const DATA = '/usr/lib/python3/dist-packages/skimage/data';
const at = (name: string) => join(tmp, name);

function run(args: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** Files the cases need, made once. */
function setup(): void {
  copyFileSync(join(F, 'input.npy'), at('x.npy'));
  copyFileSync(join(F, 'weights.safetensors'), at('w.safetensors'));
  const meta = JSON.parse(readFileSync(join(F, 'meta.json'), 'utf8'));
  writeFileSync(at('meta.json'), JSON.stringify(meta));
  for (const [name, shape] of [
    ['shape-strings.json', [1, 3, '32', '32']],
    ['shape-fraction.json', [1, 3, 32.5, 32]],
    ['shape-bool.json', [1, 3, true, 32]],
    ['shape-3d.json', [1, 3, 32]],
  ] as const)
    writeFileSync(at(name), JSON.stringify({ ...meta, input_shape: shape }));
  writeFileSync(at('serve-replicas.json'), JSON.stringify([{ model: 'meta.json', replicas: '2' }]));
  writeFileSync(
    at('limits.json'),
    JSON.stringify({ block: 'Bottleneck', layers: Array(8).fill(256), channels: Array(8).fill(65536) }),
  );
  writeFileSync(
    at('stem.json'),
    JSON.stringify({ block: 'Bottleneck', layers: [3, 4, 6, 3], stem_width: 4096, stem_type: 'deep' }),
  );
  const keys: Record<string, unknown> = { block: 'Bottleneck', layers: [1] };
  for (let i = 0; i < 1_000_000; i++) keys[`k${i}`] = 1;
  writeFileSync(at('keys.json'), JSON.stringify(keys));
  writeFileSync(at('gray.npy'), writeNpy({ shape: [1, 1, 32, 32], data: new Float32Array(1024) }));
  // A zero-batch .npy with huge H and W: a valid file of 0 values.
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 100000, 100000), }";
  const padded = `${header}${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const npy = Buffer.alloc(10 + padded.length);
  npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  npy.writeUInt16LE(padded.length, 8);
  npy.write(padded, 10, 'latin1');
  writeFileSync(at('zero-batch.npy'), npy);
  // Weights with keys that are names of Object.prototype's members (zero-size tensors).
  const st = readFileSync(at('w.safetensors'));
  const len = Number(st.readBigUInt64LE(0));
  const extra = ['constructor', 'toString', 'hasOwnProperty', '__proto__']
    .map((k) => `"${k}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},`)
    .join('');
  const h = Buffer.from(`{${extra}${st.subarray(9, 8 + len).toString()}`);
  const out = Buffer.concat([Buffer.alloc(8), h, st.subarray(8 + len)]);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  writeFileSync(at('proto-keys.safetensors'), out);
  // A data folder of photos (one class per subfolder) and a symlink into it.
  mkdirSync(at('photos/a'), { recursive: true });
  mkdirSync(at('photos/b'), { recursive: true });
  for (const c of ['a', 'b'])
    for (const i of [0, 1]) copyFileSync(join(DATA, 'chelsea.png'), at(`photos/${c}/${i}.png`));
  symlinkSync(at('photos'), at('photos-link'));
  // JSON nested 200,000 levels deep (a few hundred KB): a safetensors header's shape, a config, a graph document.
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const deepHeader = Buffer.from(`{"conv1.weight":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`);
  const deepSt = Buffer.concat([Buffer.alloc(8), deepHeader, Buffer.alloc(4)]);
  deepSt.writeBigUInt64LE(BigInt(deepHeader.length), 0);
  writeFileSync(at('deep.safetensors'), deepSt);
  writeFileSync(at('deep.json'), `{"block":"Bottleneck","layers":${deep}}`);
  writeFileSync(at('deep-graph.json'), `{"format":"cardinal.graph","nodes":${deep}}`);
  // Images and model folders.
  writeFileSync(at('bomb.png'), blackPng(9_500, 9_500));
  writeFileSync(at('not-an-image.png'), 'plain text');
  copyFileSync(join(DATA, 'chelsea.png'), at('photo.csv'));
  mkdirSync(at('no-weights'));
  writeFileSync(at('no-weights/config.json'), JSON.stringify({ architecture: 'resnet18', num_classes: 10 }));
  mkdirSync(at('typo-arch'));
  writeFileSync(
    at('typo-arch/config.json'),
    JSON.stringify({ architecture: 'resnext50_32x4', num_classes: 10 }),
  );
  mkdirSync(at('bad-cfg'));
  writeFileSync(
    at('bad-cfg/config.json'),
    JSON.stringify({ architecture: 'resnet18', pretrained_cfg: { interpolation: 'lanczos' } }),
  );
}
setup();

interface Case {
  name: string;
  args: string[];
  code: number;
  message: RegExp;
  /** Files that must be unchanged afterwards (inputs of the command). */
  unchanged?: string[];
  /** Refused within this many ms (unbounded work). */
  within?: number;
}

const x = 'x.npy';
const m = 'meta.json';
const CASES: Case[] = [
  // Pretrained models and images.
  {
    name: 'classify an image over the pixel limit',
    args: ['classify', 'bomb.png', '--model', 'resnet18'],
    code: 1,
    message: /bomb\.png: image is larger than 89478485 pixels \(decompression bomb limit\)/,
    within: 10_000,
  },
  {
    name: 'classify a file that is no image',
    args: ['classify', 'not-an-image.png', '--model', 'resnet18'],
    code: 1,
    message: /not-an-image\.png: cannot decode image/,
  },
  {
    name: 'classify --csv is one of the images',
    args: ['classify', 'photo.csv', '--model', 'resnet18', '--csv', 'photo.csv', '--force'],
    code: 1,
    message: /photo\.csv: is also an input/,
    unchanged: ['photo.csv'],
  },
  {
    name: 'a model folder without weights',
    args: ['classify', 'photo.csv', '--model', 'no-weights'],
    code: 1,
    message:
      /no-weights: no weights in the folder \(expected model\.safetensors or pytorch_model\.bin\); give --weights/,
  },
  {
    name: 'a model folder naming an unknown architecture',
    args: ['summary', 'typo-arch'],
    code: 1,
    message: /unknown model 'resnext50_32x4'; did you mean resnext50_32x4d/,
  },
  {
    name: 'a model folder with an unsupported interpolation',
    args: ['summary', 'bad-cfg'],
    code: 1,
    message: /bad-cfg\/config\.json: pretrained_cfg\.interpolation: interpolation 'lanczos' is not supported/,
  },
  {
    name: 'weights that fit no architecture: the key report',
    args: ['classify', 'photo.csv', '--model', 'resnet18', '--weights', 'w.safetensors'],
    code: 1,
    message:
      /w\.safetensors: weights do not match the graph: \d+ missing: .*; \d+ unexpected: .*; \d+ mis-shaped/,
  },
  {
    name: 'an hf-hub name that walks out of the cache',
    args: ['classify', 'photo.csv', '--model', 'hf-hub:../etc'],
    code: 1,
    message: /expected hf-hub:<org>\/<name>/,
  },
  {
    name: 'weights over plain http from another machine',
    args: ['run', 'resnet18', '--random-input', '--weights', 'http://example.com/r-0000.pth'],
    code: 1,
    message: /weights are downloaded over https only/,
  },
  // 2. --force never writes over an input of the command.
  {
    name: 'run --out is the --input',
    args: ['run', m, '--input', x, '--out', x, '--force'],
    code: 1,
    message: /x\.npy: is also an input/,
    unchanged: [x],
  },
  {
    name: 'run --out is the model config',
    args: ['run', m, '--input', x, '--out', m, '--force'],
    code: 2,
    message: /must end in \.npy or \.bin/,
    unchanged: [m],
  },
  {
    name: 'run --out is the weights',
    args: ['run', m, '--input', x, '--weights', 'w.safetensors', '--out', 'w.safetensors', '--force'],
    code: 2,
    message: /must end in \.npy or \.bin/,
    unchanged: ['w.safetensors'],
  },
  {
    name: 'export --out is the weights',
    args: ['export', 'resnet18', '--weights', 'w.safetensors', '--out', 'w.safetensors', '--force'],
    code: 2,
    message: /--out must end in \.onnx/,
    unchanged: ['w.safetensors'],
  },
  {
    name: 'export --out is the config',
    args: ['export', m, '--out', m, '--force'],
    code: 2,
    message: /--out must end in \.onnx/,
    unchanged: [m],
  },
  {
    name: 'export --out without .onnx',
    args: ['export', 'resnet18', '--out', 'c.txt'],
    code: 2,
    message: /--out must end in \.onnx/,
  },
  // 3. meta.json input_shape validated wherever a meta.json is read.
  ...['strings', 'fraction', 'bool', '3d'].flatMap((k) => [
    {
      name: `summary input_shape ${k}`,
      args: ['summary', `shape-${k}.json`],
      code: 1,
      message: /input_shape must be four positive integers/,
      within: 2000,
    },
    {
      name: `run --backend onnx input_shape ${k}`,
      args: ['run', `shape-${k}.json`, '--random-input'],
      code: 1,
      message: /input_shape must be four positive integers/,
      within: 2000,
    },
    {
      name: `run --backend reference input_shape ${k}`,
      args: ['run', `shape-${k}.json`, '--random-input', '--backend', 'reference'],
      code: 1,
      message: /input_shape must be four positive integers/,
      within: 2000,
    },
  ]),
  // 4. user mistakes, never exit 70.
  {
    name: 'random input 100000 wide',
    args: ['run', 'resnet18', '--random-input', '--input-size', '100000'],
    code: 1,
    message: /random input: too large/,
    within: 2000,
  },
  {
    name: 'a billion samples',
    args: ['run', 'resnet18', '--random-input', '--batch', '1000000000'],
    code: 1,
    message: /too large/,
    within: 2000,
  },
  {
    name: '--shape 1,3,100000,100000',
    args: ['run', 'resnet18', '--random-input', '--shape', '1,3,100000,100000'],
    code: 1,
    message: /too large/,
    within: 2000,
  },
  {
    name: 'train 100000 wide',
    args: ['train', 'resnet18', '--data', 'synthetic', '--input-size', '100000', '--out', 't.safetensors'],
    code: 1,
    message: /training batch: too large/,
    within: 2000,
  },
  {
    name: 'zero-batch .npy with huge H and W',
    args: ['run', m, '--input', 'zero-batch.npy'],
    code: 1,
    message: /zero-batch\.npy: input shape \[0, 3, 100000, 100000\] has an empty dimension/,
    within: 2000,
  },
  {
    name: 'tfjs with a zero-batch .npy',
    args: ['run', m, '--input', 'zero-batch.npy', '--backend', 'tfjs'],
    code: 1,
    message: /has an empty dimension/,
  },
  {
    name: 'a forced tfjs runtime that is not installed',
    args: ['run', m, '--input', x, '--backend', 'tfjs', '--tfjs-backend', 'node'],
    code: 1,
    message: /TensorFlow\.js runtime 'node' is not available: .*not installed/,
  },
  {
    name: 'a config at CONFIG_LIMITS: summary',
    args: ['summary', 'limits.json'],
    code: 1,
    message: /limits\.json|too large: .* parameters/,
    within: 2000,
  },
  {
    name: 'a config at CONFIG_LIMITS: run',
    args: ['run', 'limits.json', '--random-input'],
    code: 1,
    message: /too large: .* parameters/,
    within: 2000,
  },
  {
    name: 'a config at CONFIG_LIMITS: export',
    args: ['export', 'limits.json', '--out', 'l.onnx'],
    code: 1,
    message: /too large: .* parameters/,
    within: 2000,
  },
  // 5. cost bound before allocation.
  {
    name: 'a 4096-wide deep stem',
    args: ['run', 'stem.json', '--random-input'],
    code: 1,
    message: /too large: .* parameters \(at conv1\.\d\.weight\)/,
    within: 2000,
  },
  // Outputs on or inside an input folder, by real path.
  {
    name: 'train --out inside the data folder',
    args: ['train', m, '--data', 'photos', '--out', 'photos/a/w.safetensors', '--epochs', '1'],
    code: 1,
    message: /photos\/a\/w\.safetensors: lands inside the input folder photos/,
  },
  {
    name: 'train --run inside the data folder through a symlink',
    args: [
      'train',
      m,
      '--data',
      'photos',
      '--out',
      'w-out.safetensors',
      '--run',
      'photos-link/run',
      '--epochs',
      '1',
    ],
    code: 1,
    message: /photos-link\/run: lands inside the input folder photos/,
  },
  {
    name: 'classify --csv inside the image folder',
    args: ['classify', 'photos', '--model', 'resnet18', '--csv', 'photos-link/b/out.csv'],
    code: 1,
    message: /photos-link\/b\/out\.csv: lands inside the input folder photos/,
  },
  // JSON nested past any stack: refused before the walk that would overflow it.
  {
    name: 'a safetensors header whose shape nests 200,000 deep',
    args: ['run', m, '--weights', 'deep.safetensors', '--random-input'],
    code: 1,
    message: /deep\.safetensors: header: JSON nested more than 8 levels deep/,
    within: 2000,
  },
  {
    name: 'a config nested 200,000 deep',
    args: ['summary', 'deep.json'],
    code: 1,
    message: /deep\.json: JSON nested more than 64 levels deep/,
    within: 2000,
  },
  {
    name: 'a graph document nested 200,000 deep',
    args: ['summary', 'deep-graph.json'],
    code: 1,
    message: /deep-graph\.json: JSON nested more than 64 levels deep/,
    within: 2000,
  },
  // 6. --threads bounded.
  {
    name: '--threads 100000',
    args: ['run', 'resnet18', '--random-input', '--threads', '100000'],
    code: 2,
    message: /--threads must be at most 256/,
    within: 2000,
  },
  {
    name: 'serve --replicas 1000',
    args: ['serve', 'meta.json', '--port', '0', '--replicas', '1000'],
    code: 2,
    message: /--replicas must be at most 64, got 1000/,
    within: 2000,
  },
  {
    name: 'serve --config with replicas as a string',
    args: ['serve', '--config', 'serve-replicas.json', '--port', '0'],
    code: 1,
    message: /serve-replicas\.json: models\[0\]: expected .*"replicas"\? of 1\.\.64/,
    within: 2000,
  },
  // 7. keys named after Object.prototype members are unexpected keys like any other.
  {
    name: 'weights with constructor/toString/__proto__ keys',
    args: ['run', m, '--input', x, '--weights', 'proto-keys.safetensors'],
    code: 1,
    message: /4 unexpected: .*constructor.*toString.*hasOwnProperty.*__proto__|4 unexpected: /,
  },
  // 9. readers.
  {
    name: '/dev/zero as the input',
    args: ['run', m, '--input', '/dev/zero'],
    code: 1,
    message: /\/dev\/zero: input file is a device or special file/,
    within: 2000,
  },
  {
    name: '/dev/zero as the config',
    args: ['summary', '/dev/zero'],
    code: 1,
    message: /\/dev\/zero: config file is a device or special file/,
    within: 2000,
  },
  {
    name: '/dev/zero as the weights',
    args: ['run', m, '--input', x, '--weights', '/dev/zero'],
    code: 1,
    message: /\/dev\/zero: weights file is a device/,
    within: 2000,
  },
  // 10. smaller.
  {
    name: 'a million unknown keys',
    args: ['summary', 'keys.json'],
    code: 1,
    message: /keys\.json: more than 256 keys/,
  },
  {
    name: 'train --train-size 0',
    args: ['train', 'resnet18', '--data', 'synthetic', '--train-size', '0', '--out', 't.safetensors'],
    code: 2,
    message: /--train-size must be a positive integer/,
  },
  {
    name: 'a wrong input shape names the file',
    args: ['run', 'resnet18', '--input', 'gray.npy'],
    code: 1,
    message: /^cardinal: error: gray\.npy: input shape must be \[N, 3, H, W\]/,
  },
  {
    name: 'a near-miss model name',
    args: ['run', 'resnext50_32x4', '--random-input'],
    code: 1,
    message: /did you mean resnext50_32x4d/,
  },
  {
    name: 'a safetensors file as the model',
    args: ['run', 'w.safetensors', '--random-input'],
    code: 1,
    message: /w\.safetensors: not a JSON config \(binary content/,
  },
];

describe.skipIf(!existsSync(BIN))('the CLI under hostile use (table)', () => {
  it.each(CASES)('$name', (c) => {
    const before = (c.unchanged ?? []).map((f) => readFileSync(at(f)));
    const r = run(c.args);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('note: '));
    expect(r.code, r.stderr).toBe(c.code);
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toMatch(/^cardinal: error: /);
    expect(lines[0]).toMatch(c.message);
    expect(lines[0]!.length).toBeLessThan(1200);
    // Binary never reaches the terminal.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the check itself
    expect(lines[0]).not.toMatch(/[\u0000-\u0008\u000e-\u001f]/);
    for (const [i, f] of (c.unchanged ?? []).entries())
      expect(readFileSync(at(f)).equals(before[i]!), f).toBe(true);
    if (c.within) expect(r.ms, 'refused at once').toBeLessThan(c.within + 1500); // + node's start-up
  });

  it('a 244-character --out name is written', () => {
    const name = `${'a'.repeat(240)}.npy`;
    const r = run(['run', m, '--input', x, '--out', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(at(name)).size).toBeGreaterThan(128);
  });

  it('onnxruntime leaves no mat-debug log behind', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', m, '--input', x], {
      cwd: tmp,
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(r.status).toBe(0);
    expect(existsSync(join(tmp, `mat-debug-${r.pid}.log`))).toBe(false);
  });
});

/** Runs the CLI without waiting on it, collecting stderr. */
function spawnCollect(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stderr }));
  });
}

describe.skipIf(!existsSync(BIN))('no-overwrite under concurrency', () => {
  it("16 concurrent exports to one path: exactly one wins each round, and the file is the winner's", async () => {
    for (let round = 0; round < 2; round++) {
      const target = at(`race-${round}.onnx`);
      // Odd and even writers make different files (BatchNorm kept or folded), so the winner is known by content.
      const variant = (i: number) => [
        'export',
        'resnet18',
        '--input-size',
        '32',
        ...(i % 2 ? ['--keep-batchnorm'] : []),
      ];
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          spawnCollect([...variant(i), '--out', target]).then((r) => ({ i, ...r })),
        ),
      );
      const winners = results.filter((r) => r.code === 0);
      expect(winners.length, JSON.stringify(results.map((r) => [r.code, r.stderr.trim()]))).toBe(1);
      for (const r of results.filter((r) => r.code !== 0)) {
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toMatch(/already exists \(use --force to overwrite\)$/);
      }
      // The file is complete and is the winner's: export the winner's variant again and compare.
      const again = at(`again-${round}.onnx`);
      const args = [...variant(winners[0]!.i), '--out', again];
      expect(run(args).code).toBe(0);
      expect(readFileSync(target).equals(readFileSync(again))).toBe(true);
    }
  }, 120_000);
});

describe.skipIf(!existsSync(BIN))('a signal to the command the README tells users to type', () => {
  it('`pnpm cardinal run ...` stopped by SIGTERM leaves no process and writes no output', async () => {
    const out = at('signalled.npy');
    const child = spawn(
      'pnpm',
      ['cardinal', 'run', 'resnext50_32x4d', '--random-input', '--backend', 'reference', '--out', out],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Wait until the job is computing (its note is printed once the model is built).
    await new Promise<void>((done) => {
      const t = setInterval(() => {
        if (stderr.includes('note:')) {
          clearInterval(t);
          done();
        }
      }, 50);
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    child.kill('SIGTERM');
    await exited;
    // Nothing of the job may still run, and its output never appears.
    await new Promise((r) => setTimeout(r, 1500));
    const left = spawnSync('pgrep', ['-f', `--out ${out}`], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

describe.skipIf(!existsSync(BIN))("fuzzing the CLI's file handling", () => {
  it('odd paths, symlinks, devices and names end in one line and exit 1 or 2, or work', () => {
    symlinkSync(at('x.npy'), at('link-to-x.npy'));
    symlinkSync(at('nowhere.npy'), at('dangling.npy'));
    symlinkSync(at('loop-b'), at('loop-a'));
    symlinkSync(at('loop-a'), at('loop-b'));
    const inputs = [
      'x.npy',
      'link-to-x.npy',
      'dangling.npy',
      'loop-a',
      '/dev/null',
      '/dev/zero',
      '/proc/self/status',
      tmp,
      'nope/x.npy',
      '',
      'x.npy/',
      `${'b'.repeat(300)}.npy`,
      '-',
    ];
    const outs = [
      'o.npy',
      'link-to-x.npy',
      'dangling.npy',
      'loop-a',
      '/dev/null',
      tmp,
      'nope/o.npy',
      `${'c'.repeat(300)}.npy`,
      'x.npy',
      '/proc/self/o.npy',
    ];
    const before = readFileSync(at('x.npy'));
    let worked = 0;
    // Each odd input with a plain output, then each odd output with a plain input.
    const pairs = [...inputs.map((i) => [i, 'o.npy']), ...outs.map((o) => ['x.npy', o])];
    for (const [input, out] of pairs) {
      const r = run(['run', m, '--input', input!, '--out', out!, '--force']);
      expect(r.stderr).not.toMatch(/this is a bug|internal error/);
      expect([0, 1, 2], `${input} -> ${out}: ${r.stderr}`).toContain(r.code);
      if (r.code === 0) worked++;
      else
        expect(
          r.stderr
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('note: ')).length,
          r.stderr,
        ).toBe(1);
    }
    // Whatever happened, the input behind the links was never written.
    expect(readFileSync(at('x.npy')).equals(before)).toBe(true);
    expect(worked).toBeGreaterThan(0);
  }, 300_000);
});
