import { formatShape, InputError, NpyError, printable } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { f16ToF32 } from '../weights/dtypes.js';
import { copyToArrayBuffer } from './bytes.js';
import { isTuple, type PyValue, parsePyLiteral } from './py-literal.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER = 10_000;

type Reader = (v: DataView, o: number, le: boolean) => number;

/** The dtypes read (converted to float32), by kind and item size. */
const KINDS: Record<string, { size: number; read: Reader }> = {
  f2: { size: 2, read: (v, o, le) => f16ToF32(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
  b1: { size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0) },
};

/** Why a dtype numpy knows is not read here, by its kind letter. */
const REFUSED_KINDS: Record<string, string> = {
  O: 'object arrays hold pickled Python objects and are never read',
  U: 'string arrays are not tensors',
  S: 'byte-string arrays are not tensors',
  a: 'byte-string arrays are not tensors',
  V: 'void (raw record) arrays are not tensors',
  c: 'complex arrays are not supported',
  M: 'datetime arrays are not tensors',
  m: 'timedelta arrays are not tensors',
};

const EXPECTED_KEYS = ['descr', 'fortran_order', 'shape'];

function fail(source: string, message: string): never {
  throw new NpyError(`${source}: ${message}`);
}

/** A descr string as numpy writes it ('<f4', '|u1', '>i8'): byte order and dtype reader. */
function parseDescr(
  descr: unknown,
  source: string,
): { kind: { size: number; read: Reader }; littleEndian: boolean } {
  if (Array.isArray(descr) || (typeof descr === 'object' && descr !== null))
    fail(source, 'structured (record) dtypes are not supported; save a plain numeric array');
  if (typeof descr !== 'string') fail(source, `header 'descr' is not a dtype string`);
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) fail(source, `unsupported dtype '${printable(descr, 40)}'`);
  const [, order, letter, size] = m as unknown as [string, string, string, string];
  const refused = REFUSED_KINDS[letter];
  if (refused) fail(source, `dtype '${descr}': ${refused}`);
  const kind = KINDS[`${letter}${size}`];
  if (!kind) fail(source, `unsupported dtype '${descr}'; use float32 ('<f4')`);
  // A one-byte type may carry any byte order mark; for wider types '|' means "not applicable",
  // which numpy reads as native (little-endian on every platform Node runs on).
  const littleEndian = order !== '>';
  return { kind, littleEndian };
}

/**
 * Reads the header dict the way numpy's `_read_array_header` does: a Python literal that is a
 * dict with exactly the keys descr, fortran_order and shape; shape a tuple of non-negative
 * integers; fortran_order a bool. A repeated key keeps its last value, as in numpy.
 */
function parseHeader(header: string, source: string) {
  let value: PyValue;
  try {
    value = parsePyLiteral(header);
  } catch (e) {
    return fail(source, `header is not a Python literal numpy can read (${(e as Error).message})`);
  }
  if (!(value instanceof Map)) return fail(source, 'header is not a dictionary');
  const keys = [...value.keys()];
  if (keys.length !== 3 || !EXPECTED_KEYS.every((k) => value.has(k))) {
    const shown = keys.map((k) => printable(String(k), 20)).slice(0, 6);
    return fail(
      source,
      `header must have exactly the keys descr, fortran_order and shape, got ${shown.join(', ') || 'none'}`,
    );
  }
  const shape = value.get('shape')!;
  if (isTuple(shape) && shape.tuple.some((d) => typeof d === 'boolean'))
    return fail(
      source,
      `header 'shape' holds True or False, which numpy would read as 1 or 0; not supported`,
    );
  if (isTuple(shape) && shape.tuple.some((d) => typeof d === 'number' && d < 0))
    return fail(source, `header 'shape' has a negative dimension (numpy reads what is there; we refuse it)`);
  if (
    !isTuple(shape) ||
    !shape.tuple.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  )
    return fail(source, `header 'shape' must be a tuple of non-negative integers`);
  const fortran = value.get('fortran_order');
  if (typeof fortran !== 'boolean') return fail(source, `header 'fortran_order' must be True or False`);
  return { descr: value.get('descr'), fortran, shape: shape.tuple as number[] };
}

/**
 * Reads a NumPy .npy file (format 1.0 to 3.0, C order) as a float32 tensor. float64,
 * float16, integer and bool arrays are converted; Fortran order and other dtypes are refused.
 * Stricter than numpy in one way: bytes after the array's data are refused, not ignored.
 */
export function readNpy(bytes: Uint8Array, source = 'npy'): Tensor {
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    fail(source, 'not a .npy file (bad magic string)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1 && minor === 0) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if ((major === 2 || major === 3) && minor === 0) {
    if (bytes.byteLength < 12) fail(source, 'truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    fail(source, `unsupported .npy format version ${major}.${minor}`);
  }
  if (start + headerLen > bytes.byteLength) {
    fail(source, `header length ${headerLen} is beyond the end of the file (${bytes.byteLength} bytes)`);
  }
  // numpy refuses headers over 10,000 bytes unless told to trust the file; so do we.
  if (headerLen > MAX_HEADER)
    fail(source, `header length ${headerLen} exceeds numpy's ${MAX_HEADER}-byte limit`);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(
      bytes.subarray(start, start + headerLen),
    );
  } catch {
    return fail(source, 'header is not valid UTF-8');
  }
  const h = parseHeader(header, source);
  const { kind, littleEndian } = parseDescr(h.descr, source);
  if (h.fortran) fail(source, 'Fortran-order arrays are not supported; save with C order');
  const shape = h.shape;
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
  const data = new Float32Array(count);
  if (kind === KINDS.f4 && littleEndian) {
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
