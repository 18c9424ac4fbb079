import { CheckpointError, formatShape, printable } from '../../errors.js';
import { decodeToF32, SAFETENSORS_DTYPES, type SafetensorsDType } from '../dtypes.js';
import type { LoadedTensor } from '../safetensors.js';
import { type KnownGlobal, PyTuple, type PyValue, unpickle } from './pickle.js';
import { readZipDirectory } from './zip.js';

/** torch's storage classes: the dtype each holds, as safetensors names it, and its size. */
const STORAGES: Record<string, { dtype: SafetensorsDType; size: number }> = {
  FloatStorage: { dtype: 'F32', size: 4 },
  DoubleStorage: { dtype: 'F64', size: 8 },
  HalfStorage: { dtype: 'F16', size: 2 },
  BFloat16Storage: { dtype: 'BF16', size: 2 },
  LongStorage: { dtype: 'I64', size: 8 },
  IntStorage: { dtype: 'I32', size: 4 },
  ShortStorage: { dtype: 'I16', size: 2 },
  CharStorage: { dtype: 'I8', size: 1 },
  ByteStorage: { dtype: 'U8', size: 1 },
  BoolStorage: { dtype: 'BOOL', size: 1 },
};

interface Storage {
  readonly kind: 'storage';
  dtype: SafetensorsDType;
  size: number;
  /** The storage's bytes: a view into the file, never a copy. */
  bytes: Uint8Array;
}

interface TensorRef {
  readonly kind: 'tensor';
  storage: Storage;
  offset: number;
  shape: number[];
  stride: number[];
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The keys training scripts keep a state dict under, tried when the file is such a wrapper. */
const WRAPPER_KEYS = [
  'state_dict',
  'model',
  'model_ema',
  'state_dict_ema',
  'module',
  'net',
  'params',
  'model_state_dict',
];

export interface CheckpointOptions {
  /** File name for messages. */
  source?: string;
  /** The key of a wrapper dict that holds the state dict, when more than one could. */
  weightsKey?: string;
}

export interface LoadedCheckpoint {
  tensors: Map<string, LoadedTensor>;
  /** What was done to find the state dict (the wrapper key, a `module.` prefix stripped), for the user. */
  notes: string[];
  format: 'zip' | 'legacy';
}

const ints = (v: PyValue, what: string, fail: (why: string) => never): number[] => {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : fail(`${what} is not a tuple`);
  return items.map((x) =>
    typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : fail(`${what} holds ${String(x)}`),
  );
};

/** The plain data globals a checkpoint may name, read as data; nothing else is known. */
function knownGlobals(fail: (why: string) => never) {
  const plain = (call: KnownGlobal['call'], build?: KnownGlobal['build']): KnownGlobal => ({ call, build });
  const dict = (): PyValue => new Map();
  const rebuildTensor = (args: PyValue[]): PyValue => {
    const [storage, offset, size, stride] = args;
    if (!storage || typeof storage !== 'object' || !('kind' in storage) || storage.kind !== 'storage')
      return fail('a tensor is rebuilt from something that is not a storage');
    const ref: TensorRef = {
      kind: 'tensor',
      storage: storage as unknown as Storage,
      offset: ints([offset ?? null] as PyValue[], 'a storage offset', fail)[0]!,
      shape: ints(size ?? null, 'a tensor size', fail),
      stride: ints(stride ?? null, 'a tensor stride', fail),
    };
    return ref as unknown as PyValue;
  };
  const table: Record<string, KnownGlobal> = {
    'collections.OrderedDict': plain(dict),
    'torch._utils._rebuild_tensor_v2': plain(rebuildTensor),
    'torch._utils._rebuild_tensor': plain(rebuildTensor),
    'torch._utils._rebuild_parameter': plain((a) => a[0] ?? null),
    'torch._utils._rebuild_parameter_with_state': plain((a) => a[0] ?? null),
    // Harmless values training scripts store beside the weights, read as plain data.
    'torch.device': plain((a) => a.map(String).join(':')),
    'torch.Size': plain((a) => a[0] ?? null),
    'argparse.Namespace': plain(dict, (obj, state) => {
      if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
      return obj;
    }),
    '_codecs.encode': plain((a) => Uint8Array.from(String(a[0] ?? ''), (c) => c.charCodeAt(0) & 0xff)),
    'numpy.dtype': plain((a) => ({ kind: 'dtype', name: String(a[0]) })),
    'numpy.core.multiarray.scalar': plain((a) => {
      const [dt, raw] = a;
      if (!(raw instanceof Uint8Array) || !dt || typeof dt !== 'object' || !('name' in dt)) return null;
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const name = String(dt.name);
      if (name === 'f8' && raw.length === 8) return v.getFloat64(0, true);
      if (name === 'f4' && raw.length === 4) return v.getFloat32(0, true);
      if (name === 'i8' && raw.length === 8) return Number(v.getBigInt64(0, true));
      if (name === 'i4' && raw.length === 4) return v.getInt32(0, true);
      return null;
    }),
    'builtins.set': plain((a) => new Set(Array.isArray(a[0]) ? a[0] : [])),
    'builtins.slice': plain(() => null),
  };
  for (const name of Object.keys(STORAGES))
    table[`torch.${name}`] = plain(() => ({ kind: 'storageType', name }));
  for (const dt of ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'uint8', 'bool'])
    table[`torch.${dt}`] = plain(() => dt);
  // numpy 2 moved multiarray; the same scalar.
  table['numpy._core.multiarray.scalar'] = table['numpy.core.multiarray.scalar']!;
  return (module: string, name: string): KnownGlobal | undefined => {
    const key = `${module}.${name}`;
    // Storage classes and dtypes are in the table too: pushed as globals, only looked at.
    return Object.hasOwn(table, key) ? table[key] : undefined;
  };
}

function storageType(
  v: PyValue,
  fail: (why: string) => never,
): { dtype: SafetensorsDType; size: number; name: string } {
  // A GLOBAL of a storage class arrives as the global reference itself (never called).
  const name =
    v && typeof v === 'object' && 'name' in v && typeof v.name === 'string'
      ? v.name
      : fail('a storage has no type');
  const s = Object.hasOwn(STORAGES, name) ? STORAGES[name] : undefined;
  return s ? { ...s, name } : fail(`unsupported storage type '${printable(name, 40)}'`);
}

/** The tensor a reference describes, as float32: the view gathered (offset, strides), then converted. */
function materialise(t: TensorRef, key: string, fail: (why: string) => never): LoadedTensor {
  const { storage, offset, shape, stride } = t;
  if (shape.length !== stride.length)
    fail(`tensor '${key}': size ${formatShape(shape)} and stride ${formatShape(stride)} differ in rank`);
  const count = shape.reduce((a, b) => a * b, 1);
  // The furthest element the view reads must lie inside its storage.
  const last = count === 0 ? offset : offset + shape.reduce((a, d, i) => a + (d - 1) * stride[i]!, 0);
  if (last >= storage.size && count > 0)
    fail(
      `tensor '${key}': view (offset ${offset}, size ${formatShape(shape)}, stride ${formatShape(stride)}) reaches past its storage of ${storage.size} elements`,
    );
  const elem = SAFETENSORS_DTYPES[storage.dtype];
  const contiguous = shape.every(
    (_, i) => shape[i] === 1 || stride[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1),
  );
  const decode = (): Float32Array => {
    if (contiguous)
      return decodeToF32(
        storage.bytes.subarray(offset * elem, (offset + count) * elem),
        storage.dtype,
        count,
      );
    // Gather a strided view element by element into contiguous bytes, then decode once.
    const gathered = new Uint8Array(count * elem);
    const idx = new Array<number>(shape.length).fill(0);
    for (let n = 0; n < count; n++) {
      let src = offset;
      for (let d = 0; d < shape.length; d++) src += idx[d]! * stride[d]!;
      gathered.set(storage.bytes.subarray(src * elem, (src + 1) * elem), n * elem);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
    return decodeToF32(gathered, storage.dtype, count);
  };
  // Decoded on first use, once: a loader checks the shape against the model first, so a
  // 735-byte file whose one element is viewed with stride 0 as 32768 x 32768 is refused for its
  // shape before 4 GiB are made.
  let data: Float32Array | undefined;
  const tensor = { shape, dtype: storage.dtype } as LoadedTensor;
  Object.defineProperty(tensor, 'data', { enumerable: true, get: () => (data ??= decode()) });
  return tensor;
}

function isTensor(v: PyValue): boolean {
  return !!v && typeof v === 'object' && 'kind' in v && v.kind === 'tensor';
}

function isStateDict(v: PyValue): v is Map<PyValue, PyValue> {
  if (!(v instanceof Map) || v.size === 0) return false;
  let tensors = 0;
  for (const [k, x] of v) {
    if (typeof k !== 'string') return false;
    if (isTensor(x)) tensors++;
  }
  return tensors > 0 && tensors === v.size;
}

/** Finds the state dict: the file itself, or the one wrapper key that holds one. */
function findStateDict(
  root: PyValue,
  o: CheckpointOptions,
  fail: (why: string) => never,
  notes: string[],
): Map<PyValue, PyValue> {
  if (o.weightsKey !== undefined) {
    if (!(root instanceof Map) || !root.has(o.weightsKey))
      fail(`has no key '${printable(o.weightsKey, 60)}' (--weights-key)`);
    const v = (root as Map<PyValue, PyValue>).get(o.weightsKey)!;
    if (!isStateDict(v))
      fail(`'${printable(o.weightsKey, 60)}' does not hold a state dict (a dict of tensors)`);
    notes.push(`using the state dict under '${o.weightsKey}'`);
    return v as Map<PyValue, PyValue>;
  }
  if (isStateDict(root)) return root;
  if (!(root instanceof Map))
    return fail('holds no state dict (a pickled model object or other value; save model.state_dict())');
  const candidates = [...root.keys()].filter(
    (k): k is string => typeof k === 'string' && isStateDict(root.get(k)!),
  );
  const preferred = WRAPPER_KEYS.filter((k) => candidates.includes(k));
  if (candidates.length === 1) {
    notes.push(`using the state dict under '${candidates[0]}'`);
    return root.get(candidates[0]!) as Map<PyValue, PyValue>;
  }
  if (candidates.length === 0) {
    const keys = [...root.keys()].map((k) => printable(String(k), 40)).slice(0, 8);
    return fail(`holds no state dict: its keys are ${keys.join(', ')}${root.size > 8 ? ', ...' : ''}`);
  }
  return fail(
    `holds several state dicts (${candidates.map((k) => `'${printable(k, 40)}'`).join(', ')}); choose one with --weights-key${preferred.length ? ` (for example ${preferred[0]})` : ''}`,
  );
}

function readZip(bytes: Uint8Array, o: CheckpointOptions, fail: (why: string) => never): PyValue {
  const entries = readZipDirectory(bytes, o.source ?? 'checkpoint');
  const pkl = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkl) return fail('is a zip archive but not a torch.save file (no data.pkl)');
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (
    order &&
    new TextDecoder().decode(bytes.subarray(order.offset, order.offset + order.size)).trim() !== 'little'
  )
    fail('was saved on a big-endian machine; only little-endian checkpoints are read');
  const entry = entries.get(pkl)!;
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: PyValue): PyValue => {
    const t = pid instanceof PyTuple ? pid.items : fail('has a malformed storage reference');
    if (t[0] !== 'storage' || t.length < 5) fail('has a malformed storage reference');
    const type = storageType(t[1]!, fail);
    const key = String(t[2]);
    const numel = ints([t[4]!], 'a storage size', fail)[0]!;
    let s = storages.get(key);
    if (!s) {
      const member =
        entries.get(`${prefix}data/${key}`) ??
        fail(`names storage '${printable(key, 40)}', which the archive lacks`);
      // Checked before use: a storage may not claim more bytes than its member holds.
      if (numel * type.size > member.size)
        fail(
          `storage '${printable(key, 40)}' claims ${numel} ${type.name} elements (${numel * type.size} bytes) but holds ${member.size} bytes`,
        );
      s = {
        kind: 'storage',
        dtype: type.dtype,
        size: numel,
        bytes: bytes.subarray(member.offset, member.offset + numel * type.size),
      };
      storages.set(key, s);
    }
    return s as unknown as PyValue;
  };
  const sub = bytes.subarray(entry.offset, entry.offset + entry.size);
  return unpickle(sub, 0, { globals: knownGlobals(fail), persistentLoad, source: o.source ?? 'checkpoint' })
    .value;
}

function readLegacy(bytes: Uint8Array, o: CheckpointOptions, fail: (why: string) => never): PyValue {
  const source = o.source ?? 'checkpoint';
  const none = () => undefined;
  let pos = 0;
  const next = (persistentLoad?: (pid: PyValue) => PyValue) => {
    const r = unpickle(bytes, pos, {
      globals: persistentLoad ? knownGlobals(fail) : none,
      persistentLoad,
      source,
    });
    pos = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC && magic !== Number(LEGACY_MAGIC))
    fail('is not a PyTorch checkpoint (no torch.save magic number)');
  next(); // protocol version
  next(); // sys info
  // Each storage once: its bytes are bound when the data section is read, after the pickle, to
  // the storage and to every old-style view of it ([offset, offset + size) of its elements).
  const storages = new Map<
    string,
    { root: Storage; elem: number; views: { view: Storage; offset: number }[] }
  >();
  const root = next((pid) => {
    const t = pid instanceof PyTuple ? pid.items : fail('has a malformed storage reference');
    if (t[0] !== 'storage' || t.length < 6)
      fail('has a malformed storage reference (or pickles a module, which is refused)');
    const type = storageType(t[1]!, fail);
    const key = String(t[2]);
    const numel = ints([t[4]!], 'a storage size', fail)[0]!;
    let s = storages.get(key);
    if (!s) {
      s = {
        root: { kind: 'storage', dtype: type.dtype, size: numel, bytes: new Uint8Array() },
        elem: type.size,
        views: [],
      };
      storages.set(key, s);
    }
    if (!(t[5] instanceof PyTuple)) return s.root as unknown as PyValue;
    const [, vOffset, vSize] = t[5].items;
    const view: Storage = {
      kind: 'storage',
      dtype: type.dtype,
      size: ints([vSize!], 'a view size', fail)[0]!,
      bytes: new Uint8Array(),
    };
    s.views.push({ view, offset: ints([vOffset!], 'a view offset', fail)[0]! });
    return view as unknown as PyValue;
  });
  const keys = next();
  if (!Array.isArray(keys)) return fail('has a malformed storage list');
  // Then each storage's data: an 8-byte element count and the raw little-endian elements.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys) {
    const key = String(k);
    const s = storages.get(key);
    if (!s) return fail(`lists storage '${printable(key, 40)}' that no tensor uses`);
    if (pos + 8 > bytes.byteLength) fail('truncated storage data');
    const count = view.getBigUint64(pos, true);
    pos += 8;
    if (count !== BigInt(s.root.size))
      fail(`storage '${printable(key, 40)}' holds ${count} elements, its reference says ${s.root.size}`);
    const n = s.root.size * s.elem;
    if (pos + n > bytes.byteLength)
      fail(`storage '${printable(key, 40)}' claims ${n} bytes, beyond the end of the file (truncated?)`);
    s.root.bytes = bytes.subarray(pos, pos + n);
    for (const { view: v, offset } of s.views) {
      if (offset + v.size > s.root.size) fail(`a view of storage '${printable(key, 40)}' reaches past it`);
      v.bytes = s.root.bytes.subarray(offset * s.elem, (offset + v.size) * s.elem);
    }
    pos += n;
  }
  return root;
}

/** A zip archive's local-header signature, which torch.save's zip format starts with. */
const isZip = (b: Uint8Array) =>
  b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/**
 * Reads a file written by torch.save (a `.pth`, `.pt` or `.bin`), in the zip format (torch 1.6
 * and later) or the legacy pickle-stream format (older files, torchvision's original
 * pretrained weights), detected by content. Finds the state dict (the file itself, or the one
 * wrapper key that holds one: `state_dict`, `model`, `model_ema`, ...; `weightsKey` otherwise),
 * strips the `module.` prefix DataParallel/DDP add, and returns every tensor as float32 with
 * its stored dtype. Nothing in the file is run: a pickle naming any code is refused, naming it.
 * Memory: the file's bytes plus one float32 copy of the tensors; declared sizes are checked
 * against the file before use.
 */
export function readTorchCheckpoint(bytes: Uint8Array, options: CheckpointOptions = {}): LoadedCheckpoint {
  const source = options.source ?? 'checkpoint';
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: ${why}`);
  };
  const zip = isZip(bytes);
  if (!zip && !(bytes[0] === 0x80 && bytes.length > 2))
    fail('is not a PyTorch checkpoint (neither a torch.save zip archive nor a pickle)');
  const root = zip ? readZip(bytes, options, fail) : readLegacy(bytes, options, fail);
  const notes: string[] = [];
  const dict = findStateDict(root, options, fail, notes);
  const keys = [...dict.keys()] as string[];
  const strip = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
  if (strip) notes.push("stripped the 'module.' prefix (DataParallel/DDP)");
  const tensors = new Map<string, LoadedTensor>();
  for (const [k, v] of dict) {
    const key = strip ? (k as string).slice('module.'.length) : (k as string);
    tensors.set(key, materialise(v as unknown as TensorRef, key, fail));
  }
  return { tensors, notes, format: zip ? 'zip' : 'legacy' };
}

/** Whether bytes look like a torch.save file (zip archive or pickle), by content, not name. */
export function isTorchCheckpoint(bytes: Uint8Array): boolean {
  return isZip(bytes) || (bytes[0] === 0x80 && bytes[1]! <= 5);
}
