import { describe, expect, it } from 'vitest';
import { NpyError, readNpy, writeNpy } from '../src/index.js';

function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const h = new TextEncoder().encode(header);
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, h.length, true);
  else v.setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

describe('.npy', () => {
  it('round-trips float32 with the data 64-byte aligned', () => {
    const bytes = writeNpy({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6]) });
    expect((new DataView(bytes.buffer).getUint16(8, true) + 10) % 64).toBe(0);
    const t = readNpy(bytes);
    expect(t.shape).toEqual([2, 3]);
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, -6]);
  });

  it('reads float64, int64 and big-endian float32, and format 2.0', () => {
    const f8 = npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n",
      new Uint8Array(Float64Array.from([0.5, -2]).buffer),
    );
    expect([...readNpy(f8).data]).toEqual([0.5, -2]);
    const i8 = npy(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }\n",
      new Uint8Array(BigInt64Array.from([3n, -4n]).buffer),
      2,
    );
    expect(readNpy(i8).shape).toEqual([1, 2]);
    expect([...readNpy(i8).data]).toEqual([3, -4]);
    const be = new Uint8Array(4);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    expect([...readNpy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", be)).data]).toEqual(
      [1.5],
    );
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['bad magic', new Uint8Array(20), /not a \.npy file/],
    [
      'Fortran order',
      npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n", new Uint8Array(4)),
      /Fortran-order/,
    ],
    [
      'an unsupported dtype',
      npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8)),
      /dtype '<c8': complex arrays are not supported/,
    ],
    [
      'truncated data',
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", new Uint8Array(8)),
      /needs 16\+? bytes of data but the file holds 8/,
    ],
    [
      'a huge shape',
      npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }\n",
        new Uint8Array(8),
      ),
      /the file holds 8/,
    ],
    [
      'a header beyond the file',
      (() => {
        const b = npy('{}', new Uint8Array(0));
        new DataView(b.buffer).setUint16(8, 5000, true);
        return b;
      })(),
      /header length 5000 is beyond the end/,
    ],
  ];
  it.each(cases)('rejects %s with an NpyError', (_l, bytes, message) => {
    expect(() => readNpy(bytes, 'x.npy')).toThrowError(NpyError);
    expect(() => readNpy(bytes, 'x.npy')).toThrowError(message);
  });
});
