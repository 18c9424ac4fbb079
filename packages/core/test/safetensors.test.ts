import { describe, expect, it } from 'vitest';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../src/index.js';

/** Builds a safetensors file from a raw header object and a data section. */
function file(header: unknown, data: Uint8Array, headerLenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('safetensors', () => {
  it('round-trips F32 and I64 tensors in order, with a header padded to 8 bytes', () => {
    const bytes = writeSafetensors([
      { name: 'a.weight', shape: [2, 2], dtype: 'F32', data: Float32Array.from([1, -2, 3.5, 4]) },
      { name: 'a.num_batches_tracked', shape: [], dtype: 'I64', data: Float32Array.from([7]) },
    ]);
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const t = readSafetensors(bytes);
    expect([...t.keys()]).toEqual(['a.weight', 'a.num_batches_tracked']);
    expect([...t.get('a.weight')!.data]).toEqual([1, -2, 3.5, 4]);
    expect(t.get('a.num_batches_tracked')!.dtype).toBe('I64');
    expect([...t.get('a.num_batches_tracked')!.data]).toEqual([7]);
  });

  it('converts F16 and BF16 to F32', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer); // 1, -2, ~0.33325
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0x4049]).buffer); // 1, 3.140625
    const bytes = file(
      {
        h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      },
      new Uint8Array([...f16, ...bf16]),
    );
    const t = readSafetensors(bytes);
    expect([...t.get('h')!.data]).toEqual([1, -2, Math.fround(0.333251953125)]);
    expect([...t.get('b')!.data]).toEqual([1, 3.140625]);
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated before the header length', new Uint8Array(5), /truncated file: 5 bytes/],
    [
      'header length beyond the file',
      file({}, new Uint8Array(0), 1000n),
      /header length 1000 is beyond the end of the file/,
    ],
    [
      'a header that claims 100 GB',
      file({}, new Uint8Array(0), 100_000_000_000n),
      /header length 100000000000 is beyond the end/,
    ],
    [
      'header that is not JSON',
      (() => {
        const b = file({}, new Uint8Array(0));
        b[8] = 0x7b;
        b[9] = 0x7b;
        return b;
      })(),
      /not valid UTF-8 JSON/,
    ],
    [
      'offsets out of range',
      file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1])),
      /data_offsets \[0, 8\] are out of range \(data section has 4 bytes\)/,
    ],
    [
      'overlapping offsets',
      file(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32([1, 2, 3]),
      ),
      /tensors 'a' and 'b' have overlapping data_offsets/,
    ],
    [
      'unknown dtype',
      file({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /tensor 'w': unknown dtype "F8_E4M3"/,
    ],
    [
      'size that does not match dtype and shape',
      file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32([1, 2, 3])),
      /F32 \[3\] needs 12 bytes but data_offsets span 8/,
    ],
    [
      'a huge claimed shape',
      file({ w: { dtype: 'F32', shape: [1e9, 1e9], data_offsets: [0, 4] } }, f32([1])),
      /needs more bytes than the data section holds/,
    ],
    [
      'negative dims',
      file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32([1])),
      /shape must be a list of non-negative integers/,
    ],
  ];

  it.each(cases)('rejects %s with a SafetensorsError naming the cause', (_label, bytes, message) => {
    expect(() => readSafetensors(bytes, 'w.safetensors')).toThrowError(SafetensorsError);
    expect(() => readSafetensors(bytes, 'w.safetensors')).toThrowError(message);
    expect(() => readSafetensors(bytes, 'w.safetensors')).toThrowError(/^w\.safetensors: /);
  });
});
