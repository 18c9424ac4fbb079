import { formatShape, InputError, NpyError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { copyToArrayBuffer } from './bytes.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER = 1 << 20;

const DESCRS: Record<string, { size: number; read: (v: DataView, o: number, le: boolean) => number }> = {
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  f2: { size: 2, read: (v, o, le) => halfToFloat(v.getUint16(o, le)) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 0x1f) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function fail(source: string, message: string): never {
  throw new NpyError(`${source}: ${message}`);
}

/**
 * Reads a NumPy .npy file (format 1.0 to 3.0, C order) as a float32 tensor. float64,
 * float16 and integer arrays are converted; Fortran order and other dtypes are refused.
 */
export function readNpy(bytes: Uint8Array, source = 'npy'): Tensor {
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    fail(source, 'not a .npy file (bad magic string)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) fail(source, 'truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    fail(source, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (headerLen > MAX_HEADER || start + headerLen > bytes.byteLength) {
    fail(source, `header length ${headerLen} is beyond the end of the file (${bytes.byteLength} bytes)`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) fail(source, 'header is missing descr, fortran_order or shape');
  if (fortran[1] === 'True') fail(source, 'Fortran-order arrays are not supported; save with C order');
  const kind = DESCRS[descr[2]!];
  if (!kind) fail(source, `unsupported dtype '${descr[1]}${descr[2]}'; use float32 ('<f4')`);
  const dims = shapeMatch[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (!dims.every((d) => /^\d+$/.test(d))) fail(source, `bad shape (${shapeMatch[1]})`);
  const shape = dims.map(Number);
  const dataStart = start + headerLen;
  const available = bytes.byteLength - dataStart;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count * kind.size > available) {
      fail(
        source,
        `shape ${formatShape(shape)} needs ${count * kind.size}+ bytes of data but the file holds ${available}`,
      );
    }
  }
  if (count * kind.size !== available) {
    fail(
      source,
      `shape ${formatShape(shape)} needs ${count * kind.size} bytes of data but the file holds ${available}`,
    );
  }
  const littleEndian = descr[1] !== '>';
  const data = new Float32Array(count);
  if (descr[2] === 'f4' && littleEndian) {
    data.set(new Float32Array(copyToArrayBuffer(bytes, dataStart, dataStart + count * 4)));
  } else {
    for (let i = 0; i < count; i++) data[i] = kind.read(view, dataStart + i * kind.size, littleEndian);
  }
  return { shape, data };
}

/** Writes a float32 tensor as .npy format 1.0 ('<f4', C order). */
export function writeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so the data starts on a 64-byte boundary, as NumPy does.
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

/** Raw little-endian float32 with a given shape (the fixtures' .bin files). */
export function readRawF32(bytes: Uint8Array, shape: readonly number[], source = 'bin'): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * 4) {
    throw new InputError(
      `${source}: holds ${bytes.byteLength} bytes but shape ${formatShape(shape)} needs ${count * 4} (float32)`,
    );
  }
  return { shape: [...shape], data: new Float32Array(copyToArrayBuffer(bytes)) };
}
