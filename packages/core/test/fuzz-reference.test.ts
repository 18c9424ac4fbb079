import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CardinalError,
  readNpy,
  readSafetensors,
  SAFETENSORS_DTYPES,
  writeSafetensors,
} from '../src/index.js';
import { prng, type Rng } from './helpers.js';

/**
 * Differential fuzzing: every mutated file is read by Cardinal and by a reference (numpy for
 * .npy; the safetensors format's rules, written independently in Python, for safetensors). A
 * file Cardinal accepts must be accepted by the reference with the same shape and the same
 * float32 values; a file the reference refuses must be refused. Cardinal may refuse more only
 * for the reasons it documents (dtypes it does not read, bytes after the data, rare literal forms).
 */
const PYTHON = '/usr/bin/python3';
const HAS_NUMPY =
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!HAS_NUMPY)
  console.log('skipped differential fuzzing: Debian python3 with numpy is not installed (apt python3-numpy)');

const dir = mkdtempSync(join(tmpdir(), 'cardinal-fuzz-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RefResult {
  ok: boolean;
  shape?: number[];
  f32?: string;
  error?: string;
  tensors?: Record<string, { shape: number[]; f32: string }>;
}

function reference(script: string, files: string[]): RefResult[] {
  const out = execFileSync(PYTHON, [join(__dirname, 'reference', script)], {
    input: files.join('\n'),
    maxBuffer: 1 << 28,
  }).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RefResult);
}

const f32Base64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Same float32 values, bit for bit, except that any NaN equals any NaN (payloads may differ). */
function sameF32(a: string, b: string): boolean {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  if (x.length !== y.length) return false;
  const fx = new Float32Array(x.buffer, x.byteOffset, x.length / 4);
  const fy = new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.length));
  const ix = new Uint32Array(fx.buffer.slice(fx.byteOffset, fx.byteOffset + fx.byteLength));
  const iy = new Uint32Array(fy.buffer);
  return ix.every((v, i) => v === iy[i] || (Number.isNaN(fx[i]!) && Number.isNaN(fy[i]!)));
}

function sameTensors(
  a: Record<string, { shape: number[]; f32: string }>,
  b: Record<string, { shape: number[]; f32: string }>,
): boolean {
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length &&
    ka.every(
      (k) =>
        Object.hasOwn(b, k) && a[k]!.shape.join() === b[k]!.shape.join() && sameF32(a[k]!.f32, b[k]!.f32),
    )
  );
}

// ---- .npy: headers made from parts, so every mutation applies ----
const DESCRS: [string, number][] = [
  ['<f4', 4],
  ['<f8', 8],
  ['>f4', 4],
  ['>f8', 8],
  ['<f2', 2],
  ['|u1', 1],
  ['<i8', 8],
  ['<i4', 4],
  ['>i2', 2],
  ['|i1', 1],
  ['<u2', 2],
  ['>u4', 4],
  ['|b1', 1],
  ['<c8', 8],
  ['|O', 8],
  ['<U3', 12],
  ['|S4', 4],
  ['f4', 4],
  ['=f4', 4],
  ['|f4', 4],
  ['<M8[s]', 8],
  ['float32', 4],
  ['<f16', 16],
  ['<q', 8],
];
const SHAPES: [string, number][] = [
  ['(2, 3, 4)', 24],
  ['(24,)', 24],
  ['()', 1],
  ['(24)', 24],
  ['[2, 3, 4]', 24],
  ['(2,3,4,)', 24],
  ['(-1,)', 0],
  ['(0, 3)', 0],
  ['(2, 12)', 24],
  ['(99999999999999999999,)', 0],
  ['( 6 , 4 )', 24],
  ['(1, 2, 3, 4, 1)', 24],
  ['(True, 3)', 3],
  ['(2.0, 3)', 6],
  ['("2", 3)', 6],
];
const FORTRAN = ['False', 'True', '0', '1', "'False'", 'None', 'false'];

function npyCase(r: Rng): Uint8Array {
  const [descr, size] = r.pick(DESCRS);
  const [shape, count] = r.pick(SHAPES);
  const q = r.next() < 0.8 ? "'" : '"';
  const entries = [
    `${q}descr${q}: ${r.next() < 0.1 ? `[('a', '<f4')]` : `${q}${descr}${q}`}`,
    `${q}fortran_order${q}: ${r.next() < 0.75 ? 'False' : r.pick(FORTRAN)}`,
    `${q}shape${q}: ${shape}`,
  ];
  // Reordered, a key missing, an extra key, or a key repeated with another value (last wins).
  for (let i = entries.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const roll = r.next();
  if (roll < 0.08) entries.splice(r.int(entries.length), 1);
  else if (roll < 0.14) entries.push(`'extra': 1`);
  else if (roll < 0.3) entries.splice(r.int(entries.length), 0, `'descr': '${r.pick(DESCRS)[0]}'`);
  else if (roll < 0.36) entries.push(`'shape': ${r.pick(SHAPES)[0]}`);
  const sep = r.pick([', ', ',', ' , ']);
  const trailing = r.next() < 0.5 ? ', ' : '';
  let header = `{${entries.join(sep)}${trailing}}`;
  const wrap = r.int(50);
  if (wrap === 0) header = `(${header})`;
  else if (wrap === 1) header = `[${header}]`;
  else if (wrap === 2) header = `${header} x`;
  else if (wrap === 3) header = ` ${header}`;
  else if (wrap === 4) header = `\t${header}`;
  header += ' '.repeat(r.int(40)) + (r.next() < 0.9 ? '\n' : '');
  const h = Buffer.from(header, 'latin1');
  const version = r.next() < 0.85 ? 1 : r.pick([2, 3]);
  const pre = version === 1 ? 10 : 12;
  // Data: as long as the shape needs (most cases), or a little off.
  let dataLen = Math.max(0, count) * size;
  if (r.next() < 0.15) dataLen = Math.max(0, dataLen + r.pick([-4, -1, 1, 4, 8]));
  const out = new Uint8Array(pre + h.length + dataLen);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, pre);
  for (let i = pre + h.length; i < out.length; i++) out[i] = r.int(256);
  return out;
}

// Refusals of ours that numpy does not share, each a documented choice.
const OURS_ONLY =
  /bytes of data but the file holds|unsupported dtype|arrays (hold|are)|not supported|not a Python literal|negative dimension/;

describe.skipIf(!HAS_NUMPY)('differential fuzzing against a reference reader', () => {
  it('.npy agrees with numpy on every file it accepts', () => {
    const r = prng(7);
    const N = 3000;
    const files: string[] = [];
    const ours: ({ shape: number[]; f32: string } | { error: string })[] = [];
    for (let i = 0; i < N; i++) {
      const bytes = npyCase(r);
      const path = join(dir, `c${i}.npy`);
      writeFileSync(path, bytes);
      files.push(path);
      try {
        const t = readNpy(bytes, path);
        ours.push({ shape: [...t.shape], f32: f32Base64(t.data) });
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(CardinalError);
        ours.push({ error: (e as Error).message });
      }
    }
    const ref = reference('read_npy.py', files);
    let agreeOk = 0;
    let agreeRefused = 0;
    let oursOnly = 0;
    const problems: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = ours[i]!;
      const b = ref[i]!;
      if ('shape' in a) {
        if (!b.ok)
          problems.push(
            `${files[i]}: we read it, numpy refuses (${b.error}): ${Buffer.from(readFileSync(files[i]!).subarray(8, 120)).toString('latin1')}`,
          );
        else if (a.shape.join() !== b.shape!.join() || !sameF32(a.f32, b.f32!))
          problems.push(`${files[i]}: values or shape differ`);
        else agreeOk++;
      } else if (!b.ok) agreeRefused++;
      else if (OURS_ONLY.test(a.error)) oursOnly++;
      else
        problems.push(
          `${files[i]}: numpy reads it, we refuse: ${a.error}: ${Buffer.from(readFileSync(files[i]!).subarray(8, 120)).toString('latin1')}`,
        );
    }
    console.log(
      `npy vs numpy: ${N} files, ${agreeOk} read alike, ${agreeRefused} refused by both, ${oursOnly} refused by us only (documented)`,
    );
    expect(problems.slice(0, 5)).toEqual([]);
    // The mutations must reach both outcomes in number, or the test proves little.
    expect(agreeOk).toBeGreaterThan(N / 10);
    expect(agreeRefused).toBeGreaterThan(N / 10);
  }, 120_000);

  it('safetensors agrees with the format rules on every file it accepts', () => {
    const r = prng(11);
    const N = 2000;
    const files: string[] = [];
    const ours: (Record<string, { shape: number[]; f32: string }> | { error: string })[] = [];
    const DT = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U16', 'F8', 'f32'];
    // Ours, and three the format's readers may meet that Cardinal does not read.
    const SIZE: Record<string, number> = { ...SAFETENSORS_DTYPES, U16: 2, F8: 1, f32: 4 };
    for (let i = 0; i < N; i++) {
      // A header written by hand, then bent: duplicates, holes, trailing bytes, overlaps, metadata.
      const n = 1 + r.int(3);
      const parts: string[] = [];
      let off = 0;
      for (let k = 0; k < n; k++) {
        const dt = r.next() < 0.7 ? r.pick(['F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL']) : r.pick(DT);
        const shape = r.pick([[2, 3], [4], [], [0, 5], [3, 1, 2]]);
        const len = shape.reduce((a, b) => a * b, 1) * SIZE[dt]!;
        let [b, e] = [off, off + len];
        const bend = r.next();
        if (bend < 0.05) [b, e] = [b + 2, e + 2];
        else if (bend < 0.1 && b > 0) [b, e] = [b - 1, e - 1];
        else if (bend < 0.13) e += 1;
        off = e;
        const name = r.next() < 0.1 ? r.pick(['t0', '__proto__', 'constructor']) : `t${k}`;
        parts.push(`"${name}":{"dtype":"${dt}","shape":[${shape.join(',')}],"data_offsets":[${b},${e}]}`);
      }
      if (r.next() < 0.2)
        parts.unshift(`"__metadata__":${r.pick(['{"format":"pt"}', '{"format":5}', '[]', '{}'])}`);
      const header = `{${parts.join(',')}}`;
      const extra = r.next() < 0.1 ? 1 + r.int(8) : 0;
      const h = Buffer.from(header);
      const bytes = new Uint8Array(8 + h.length + off + extra);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
      bytes.set(h, 8);
      for (let p = 8 + h.length; p < bytes.length; p++) bytes[p] = r.int(256);
      const path = join(dir, `s${i}.safetensors`);
      writeFileSync(path, bytes);
      files.push(path);
      try {
        const m = readSafetensors(bytes, path);
        ours.push(
          Object.fromEntries([...m].map(([k, t]) => [k, { shape: t.shape, f32: f32Base64(t.data) }])),
        );
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(CardinalError);
        ours.push({ error: (e as Error).message });
      }
    }
    // Our writer's files, too: the format's rules must accept them.
    const written = writeSafetensors([
      { name: 'w', shape: [2, 2], dtype: 'F32', data: new Float32Array([1, 2, 3, 4]) },
    ]);
    writeFileSync(join(dir, 'written.safetensors'), written);
    const ref = reference('read_safetensors.py', [...files, join(dir, 'written.safetensors')]);
    expect(ref[N]!.ok).toBe(true);
    let agreeOk = 0;
    let agreeRefused = 0;
    const problems: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = ours[i]!;
      const b = ref[i]!;
      if (!('error' in a)) {
        if (!b.ok) problems.push(`${files[i]}: we read it, the format refuses it (${b.error})`);
        else if (!sameTensors(a, b.tensors!))
          problems.push(
            `${files[i]}: tensors differ: ${JSON.stringify(a).slice(0, 150)} vs ${JSON.stringify(b.tensors).slice(0, 150)}`,
          );
        else agreeOk++;
      } else if (!b.ok) agreeRefused++;
      // The one refusal of ours the format does not make: dtypes Cardinal does not read.
      else if (!/unknown dtype/.test(a.error as string))
        problems.push(`${files[i]}: the format accepts it, we refuse: ${a.error}`);
    }
    console.log(
      `safetensors vs format rules: ${N} files, ${agreeOk} read alike, ${agreeRefused} refused by both`,
    );
    expect(problems.slice(0, 5)).toEqual([]);
    expect(agreeOk).toBeGreaterThan(N / 10);
    expect(agreeRefused).toBeGreaterThan(N / 10);
  }, 120_000);
});
