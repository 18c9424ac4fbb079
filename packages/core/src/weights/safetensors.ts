import { formatShape, printable, SafetensorsError } from '../errors.js';
import { jsonTooDeep } from '../io/json-depth.js';
import { decodeToF32, isSafetensorsDType, SAFETENSORS_DTYPES, type SafetensorsDType } from './dtypes.js';

/** Headers larger than this are refused before anything is allocated for them. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataOffset: number;
}

/** A tensor read from safetensors, converted to float32 (F16, BF16, F64 and integers included). */
export interface LoadedTensor {
  shape: number[];
  dtype: SafetensorsDType;
  data: Float32Array;
}

function fail(source: string, message: string): never {
  throw new SafetensorsError(`${source}: ${message}`);
}

/**
 * The first key that appears twice in one object of a JSON text already known to be valid,
 * or undefined. JSON.parse keeps the last silently; the safetensors format forbids duplicates.
 */
export function firstDuplicateKey(json: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === ':') {
      expectKey = false;
    } else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return undefined;
}

/**
 * Parses and checks the header against the file's real size: header length, JSON,
 * dtypes, shapes, and that every byte range lies inside the data section, has the size
 * its dtype and shape need, and overlaps no other.
 */
/**
 * Checks a safetensors file's 8-byte header length against the file's size and the header
 * limit, from the first bytes alone (so a reader can refuse a file before reading it whole).
 * Returns the header length.
 */
export function checkSafetensorsHead(head: Uint8Array, fileSize: number, source = 'safetensors'): number {
  if (head.byteLength < 8 || fileSize < 8)
    fail(source, `truncated file: ${fileSize} bytes, the 8-byte header length is missing`);
  const headerLen = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(fileSize - 8)) {
    fail(source, `header length ${headerLen} is beyond the end of the file (${fileSize} bytes)`);
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    fail(source, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  return Number(headerLen);
}

export function parseSafetensorsHeader(bytes: Uint8Array, source = 'safetensors'): SafetensorsHeader {
  const n = checkSafetensorsHead(bytes, bytes.byteLength, source);
  let json: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch (e) {
    return fail(source, `header is not valid UTF-8 JSON (${printable((e as Error).message)})`);
  }
  // A header nests three levels (tensor, entry, shape); a deep one is refused before any walk.
  const deep = jsonTooDeep(text, 8);
  if (deep) fail(source, `header: ${deep}`);
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(source, `header is not valid UTF-8 JSON (${printable((e as Error).message)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail(source, 'header is not a JSON object');
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) fail(source, `header names '${printable(duplicate, 80)}' twice`);
  const dataOffset = 8 + n;
  const dataLen = bytes.byteLength - dataOffset;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        fail(source, '__metadata__ is not an object');
      const entries = Object.entries(value as Record<string, unknown>);
      const bad = entries.find(([, v]) => typeof v !== 'string');
      if (bad)
        fail(
          source,
          `__metadata__ '${printable(bad[0], 80)}' is not a string (the format allows strings only)`,
        );
      metadata = Object.fromEntries(entries as [string, string][]);
      continue;
    }
    if (typeof value !== 'object' || value === null) fail(source, `tensor '${name}': entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isSafetensorsDType(dtype)) fail(source, `tensor '${name}': unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(
        source,
        `tensor '${name}': shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        source,
        `tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLen)
      fail(
        source,
        `tensor '${name}': data_offsets [${begin}, ${end}] are out of range (data section has ${dataLen} bytes)`,
      );
    // Element count checked against the bytes actually present, so a huge claimed shape allocates nothing.
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count * SAFETENSORS_DTYPES[dtype] > dataLen) {
        fail(
          source,
          `tensor '${name}': shape ${formatShape(shape as number[])} needs more bytes than the data section holds (${dataLen})`,
        );
      }
    }
    const need = count * SAFETENSORS_DTYPES[dtype];
    if (end - begin !== need) {
      fail(
        source,
        `tensor '${name}': ${dtype} ${formatShape(shape as number[])} needs ${need} bytes but data_offsets span ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end)
      fail(source, `tensors '${prev.name}' and '${cur.name}' have overlapping data_offsets`);
    if (cur.begin > prev.end)
      fail(
        source,
        `bytes ${prev.end}..${cur.begin} of the data section belong to no tensor (the format allows no holes)`,
      );
  }
  // The format requires the data section to be exactly the tensors' bytes: no holes, nothing after.
  const first = sorted[0]?.begin ?? 0;
  const last = sorted[sorted.length - 1]?.end ?? 0;
  if (first !== 0)
    fail(source, `bytes 0..${first} of the data section belong to no tensor (the format allows no holes)`);
  if (last !== dataLen)
    fail(
      source,
      `${dataLen - last} bytes after the last tensor belong to no tensor (the format allows none)`,
    );
  return { entries, metadata, dataOffset };
}

/** Reads every tensor of a safetensors file as float32, in file (header) order. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): Map<string, LoadedTensor> {
  const header = parseSafetensorsHeader(bytes, source);
  const out = new Map<string, LoadedTensor>();
  for (const e of header.entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    const raw = bytes.subarray(header.dataOffset + e.begin, header.dataOffset + e.end);
    out.set(e.name, { shape: e.shape, dtype: e.dtype, data: decodeToF32(raw, e.dtype, count) });
  }
  return out;
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  /** Stored dtype: F32, or I64 for integer buffers such as num_batches_tracked. */
  dtype: 'F32' | 'I64';
  data: Float32Array;
}

/** Writes tensors in the given order; the header is padded with spaces to a multiple of 8. */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  // A null-prototype object, so a tensor named '__proto__' is a key like any other.
  const header: Record<string, unknown> = Object.create(null);
  header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const size = t.data.length * (t.dtype === 'F32' ? 4 : 8);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  const encoder = new TextEncoder();
  const json = JSON.stringify(header);
  const headerBytes = encoder.encode(json + ' '.repeat((8 - (encoder.encode(json).length % 8)) % 8));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    if (t.dtype === 'F32') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
      pos += t.data.byteLength;
    } else {
      for (let i = 0; i < t.data.length; i++, pos += 8)
        view.setBigInt64(pos, BigInt(Math.round(t.data[i]!)), true);
    }
  }
  return out;
}
