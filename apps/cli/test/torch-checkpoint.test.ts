import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, readNpy, readSafetensors, readTorchCheckpoint } from '@cardinal/core';
import { fixturePath, listFixtures, loadFixture } from '@cardinal/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, DEBIAN_PYTHON, debianPythonHas, referenceScript } from './helpers.js';

/**
 * PyTorch checkpoints without Python: every shared fixture's state dict saved by Debian's torch
 * in each form a user may hold must read to the same tensors as its weights.safetensors.
 */
const SCRIPT = referenceScript('torch_save_variants.py');
const hasTorch = debianPythonHas(['torch'], 'the PyTorch checkpoint tests', 'python3-torch');

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-pth-'));
const FIXTURES = listFixtures('shared');
const dir = (name: string) => join(tmp, name);

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i]!)));

/** float32 -> bfloat16 -> float32, rounding to nearest even as torch does. */
function bf16Round(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  for (let i = 0; i < u.length; i++) u[i] = ((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
}

describe.skipIf(!hasTorch)('PyTorch checkpoints (torch.save by Debian python3-torch)', () => {
  beforeAll(() => {
    const args = FIXTURES.flatMap((f) => {
      mkdirSync(dir(f), { recursive: true });
      return [join(fixturePath(f), 'weights.safetensors'), dir(f)];
    });
    const r = spawnSync(DEBIAN_PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 180_000);

  it.each(FIXTURES)('%s: zip, legacy, wrapped, DDP and strided views read bit-exact', (f) => {
    const want = readSafetensors(readFileSync(join(fixturePath(f), 'weights.safetensors')));
    const cases: [string, 'zip' | 'legacy', string[]][] = [
      ['zip.pth', 'zip', []],
      ['legacy.pth', 'legacy', []],
      ['wrapped.pth', 'zip', ["using the state dict under 'state_dict'"]],
      ['wrapped-legacy.pth', 'legacy', ["using the state dict under 'state_dict'"]],
      ['ddp.pth', 'zip', ["stripped the 'module.' prefix (DataParallel/DDP)"]],
      ['views.pth', 'zip', []],
      ['views-legacy.pth', 'legacy', []],
      ['f64.pth', 'zip', []],
    ];
    for (const [file, format, notes] of cases) {
      const got = readTorchCheckpoint(readFileSync(join(dir(f), file)), { source: file });
      expect(got.format, file).toBe(format);
      expect(got.notes, file).toEqual(notes);
      expect([...got.tensors.keys()].sort(), file).toEqual([...want.keys()].sort());
      for (const [k, t] of want) {
        const u = got.tensors.get(k)!;
        expect(u.shape, `${file} ${k}`).toEqual(t.shape);
        expect(sameBits(u.data, t.data), `${file} ${k}`).toBe(true);
      }
    }
  });

  it.each(FIXTURES)('%s: float16 and bfloat16 copies read to the rounded values', (f) => {
    const want = readSafetensors(readFileSync(join(fixturePath(f), 'weights.safetensors')));
    const half = readTorchCheckpoint(readFileSync(join(dir(f), 'half.pth')));
    const rounded = JSON.parse(readFileSync(join(dir(f), 'half.json'), 'utf8')) as Record<string, number[]>;
    for (const [k, values] of Object.entries(rounded)) {
      expect(half.tensors.get(k)!.dtype).toBe('F16');
      expect(sameBits(half.tensors.get(k)!.data, Float32Array.from(values)), k).toBe(true);
    }
    const bf16 = readTorchCheckpoint(readFileSync(join(dir(f), 'bf16.pth')));
    for (const [k, t] of want) {
      if (t.dtype !== 'F32') continue;
      expect(sameBits(bf16.tensors.get(k)!.data, bf16Round(t.data)), k).toBe(true);
    }
  });

  it('an ambiguous wrapper needs --weights-key', () => {
    const bytes = readFileSync(join(dir('tiny_resnext'), 'ambiguous.pth'));
    expect(() => readTorchCheckpoint(bytes, { source: 'a.pth' })).toThrowError(
      /a\.pth: holds several state dicts \('model', 'model_ema'\); choose one with --weights-key/,
    );
    expect(readTorchCheckpoint(bytes, { weightsKey: 'model_ema' }).tensors.size).toBeGreaterThan(10);
  });

  it('refuses any other global, naming it, and runs nothing', () => {
    for (const [file, global] of [
      ['evil-system.pth', 'posix.system'],
      ['evil-eval.pth', '__builtin__.eval'],
      ['evil-custom.pth', '__main__.Custom'],
    ] as const) {
      const bytes = readFileSync(join(dir('tiny_resnext'), file));
      expect(() => readTorchCheckpoint(bytes, { source: file })).toThrowError(CheckpointError);
      expect(() => readTorchCheckpoint(bytes, { source: file })).toThrowError(
        `refuses the global '${global}'`,
      );
    }
    expect(existsSync(join(dir('tiny_resnext'), 'pwned'))).toBe(false);
    expect(existsSync(join(dir('tiny_resnext'), 'pwned-eval'))).toBe(false);
    // The payload is real: Python's own unpickler, given the same file, creates the file.
    const proof = join(tmp, 'proof');
    mkdirSync(proof);
    copyFileSync(join(dir('tiny_resnext'), 'evil-system.pth'), join(proof, 'e.pth'));
    spawnSync(DEBIAN_PYTHON, ['-c', `import torch; torch.load(${JSON.stringify(join(proof, 'e.pth'))})`], {
      stdio: 'ignore',
    });
    expect(existsSync(join(dir('tiny_resnext'), 'pwned'))).toBe(true);
  });

  it('truncated files are one-line CheckpointErrors', () => {
    for (const file of ['zip.pth', 'legacy.pth']) {
      const bytes = readFileSync(join(dir('tiny_resnext'), file));
      for (const cut of [10, 100, Math.floor(bytes.length / 2), bytes.length - 5]) {
        expect(
          () => readTorchCheckpoint(bytes.subarray(0, cut), { source: file }),
          `${file} cut at ${cut}`,
        ).toThrowError(CheckpointError);
      }
    }
  });

  it('refuses a member that claims more than the file holds, a compressed member, and a storage larger than its data', () => {
    const bytes = Buffer.from(readFileSync(join(dir('tiny_resnext'), 'zip.pth')));
    // The central directory entry of the first storage (a name ending in data/0).
    let at = -1;
    for (let i = bytes.length - 46; i >= 0; i--) {
      if (bytes.readUInt32LE(i) === 0x02014b50) {
        const name = bytes.subarray(i + 46, i + 46 + bytes.readUInt16LE(i + 28)).toString();
        if (name.endsWith('/data/0')) {
          at = i;
          break;
        }
      }
    }
    expect(at).toBeGreaterThan(0);
    const bomb = Buffer.from(bytes);
    bomb.writeUInt32LE(0x7fffffff, at + 20);
    bomb.writeUInt32LE(0x7fffffff, at + 24);
    expect(() => readTorchCheckpoint(bomb, { source: 'bomb.pth' })).toThrowError(
      /bomb\.pth: member '.*data\/0' declares 2147483647 bytes, beyond the end of the file/,
    );
    const deflated = Buffer.from(bytes);
    deflated.writeUInt16LE(8, at + 10);
    expect(() => readTorchCheckpoint(deflated, { source: 'z.pth' })).toThrowError(
      /is compressed \(method 8\)/,
    );
    // A member shorter than its storage claims: the storage's bytes end early.
    const short = Buffer.from(bytes);
    const size = short.readUInt32LE(at + 24);
    short.writeUInt32LE(size - 4, at + 20);
    short.writeUInt32LE(size - 4, at + 24);
    expect(() => readTorchCheckpoint(short, { source: 's.pth' })).toThrowError(
      /storage '0' claims \d+ \w+ elements \(\d+ bytes\) but holds/,
    );
  });

  it('survives fuzzing: 4,000 mutated checkpoints end in a CheckpointError or a valid read', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let valid = 0;
    let refused = 0;
    for (const file of ['zip.pth', 'legacy.pth']) {
      const base = readFileSync(join(dir('tiny_resnext'), file));
      for (let i = 0; i < 2000; i++) {
        const b = Buffer.from(base);
        const kind = rand(4);
        if (kind === 0) for (let k = 0; k < 1 + rand(8); k++) b[rand(b.length)]! ^= 1 << rand(8);
        else if (kind === 1) b.fill(rand(256), rand(b.length), rand(b.length));
        else if (kind === 2) b.writeUInt32LE(rand(2) ? 0xffffffff : rand(1 << 30), rand(b.length - 4));
        const bytes = kind === 3 ? b.subarray(0, rand(b.length)) : b;
        try {
          readTorchCheckpoint(bytes, { source: file });
          valid++;
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(CheckpointError);
          expect((e as Error).message.length).toBeLessThan(400);
          refused++;
        }
      }
    }
    console.log(`fuzz checkpoints: 4000 cases, ${valid} read, ${refused} refused`);
    expect(valid + refused).toBe(4000);
  });

  it.each(['reference', 'onnx', 'tfjs', 'webgpu'])(
    '`cardinal run <meta.json> --weights <file.pth>` passes the fixture on %s',
    async (backend) => {
      const fx = loadFixture('tiny_resnext');
      for (const file of ['zip.pth', 'legacy.pth', 'wrapped.pth', 'views.pth']) {
        const out = join(tmp, `out-${backend}-${file}.npy`);
        const r = await cli(
          'run',
          join(fx.dir, 'meta.json'),
          '--backend',
          backend,
          '--weights',
          join(dir('tiny_resnext'), file),
          '--input',
          join(fx.dir, 'input.npy'),
          '--out',
          out,
        );
        if (r.code !== 0 && /not available/.test(r.stderr)) {
          console.log(`skipped ${backend}: ${r.stderr.split('\n').at(-1)}`);
          return;
        }
        expect(r.code, r.stderr).toBe(0);
        const y = readNpy(readFileSync(out));
        const atol = fx.atol;
        const max = Math.max(...y.data.map((v, i) => Math.abs(v - fx.expected.data[i]!)));
        expect(max, `${backend} ${file}`).toBeLessThanOrEqual(atol);
      }
    },
  );

  it('a .pth whose keys fit no architecture gets the key report, in one line, exit 1', async () => {
    const pth = join(dir('tiny_resnext'), 'zip.pth');
    const r = await cli('run', 'resnet18', '--random-input', '--input-size', '32', '--weights', pth);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^cardinal: error: ${pth}: weights do not match the graph: \\d+ missing: .*; \\d+ unexpected: .*; \\d+ mis-shaped: layer1\\.0\\.conv1\\.weight \\(expected \\[64, 64, 3, 3\\], got \\[32, 64, 1, 1\\]\\)`,
      ),
    );
  });

  it('the CLI refuses a forbidden global in one line, exit 1', async () => {
    const fx = loadFixture('tiny_resnext');
    const r = await cli(
      'run',
      join(fx.dir, 'meta.json'),
      '--random-input',
      '--weights',
      join(dir('tiny_resnext'), 'evil-eval.pth'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^cardinal: error: .*evil-eval\.pth: refuses the global '__builtin__\.eval'/,
    );
  });
});
