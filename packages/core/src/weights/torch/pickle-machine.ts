// The unpickler's values and its machine (state, readers, stack operations); the opcodes that
// drive it are the table in pickle.ts.
import { CheckpointError } from '../../errors.js';

/** A Python tuple (kept apart from lists: persistent ids and tensor sizes are tuples). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A call of a known global, as the table decided to represent it. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | Map<PyValue, PyValue>
  | Set<PyValue>
  | { readonly kind: string; [k: string]: unknown };

/** What a known global does when the pickle calls it (REDUCE, NEWOBJ) or builds it (BUILD). */
export interface KnownGlobal {
  call(args: PyValue[]): PyValue;
  /** BUILD with state on an object this global made; default: the state is ignored. */
  build?(obj: PyValue, state: PyValue): PyValue;
}

export interface UnpickleOptions {
  globals: (module: string, name: string) => KnownGlobal | undefined;
  persistentLoad?: (pid: PyValue) => PyValue;
  source: string;
}

/**
 * The unpickler's state: the bytes and where it reads, the stack, the marks and the memo, with
 * the readers and stack operations every opcode uses. The opcodes themselves are the table below.
 */
export class PickleMachine {
  readonly view: DataView;
  pos: number;
  readonly stack: PyValue[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, PyValue>();
  /** The pickle's value, once STOP ran. */
  result: { value: PyValue } | undefined;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly o: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  fail = (why: string): never => {
    throw new CheckpointError(`${this.o.source}: ${why}`);
  };
  need = (n: number): void => {
    if (!(n >= 0) || this.pos + n > this.bytes.byteLength)
      this.fail(`truncated pickle (needs ${n} more bytes at byte ${this.pos})`);
  };
  take = (n: number): Uint8Array => {
    this.need(n);
    const s = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  };
  /** Reads a fixed-size little-endian field and moves past it. */
  private field = <T>(n: number, read: (at: number) => T): T => {
    this.need(n);
    const v = read(this.pos);
    this.pos += n;
    return v;
  };
  u8 = () => this.field(1, (at) => this.bytes[at]!);
  u16 = () => this.field(2, (at) => this.view.getUint16(at, true));
  i32 = () => this.field(4, (at) => this.view.getInt32(at, true));
  u32 = () => this.field(4, (at) => this.view.getUint32(at, true));
  /** A 64-bit length: one past the file's size stands for any larger one (the next read fails). */
  u64 = (): number => {
    const v = this.field(8, (at) => this.view.getBigUint64(at, true));
    return v > BigInt(this.bytes.byteLength) ? this.bytes.byteLength + 1 : Number(v);
  };
  line = (): string => {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated pickle (unterminated line)');
    const s = new TextDecoder('latin1').decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  };
  utf8 = (n: number): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.take(n));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return this.fail('a string in the pickle is not valid UTF-8');
    }
  };
  latin1 = (n: number): string => new TextDecoder('latin1').decode(this.take(n));
  long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  pop = (): PyValue =>
    this.stack.length ? this.stack.pop()! : this.fail('corrupt pickle (stack underflow)');
  top = (): PyValue =>
    this.stack.length ? this.stack[this.stack.length - 1]! : this.fail('corrupt pickle (empty stack)');
  popMark = (): PyValue[] => {
    const m = this.marks.pop();
    if (m === undefined || m > this.stack.length) return this.fail('corrupt pickle (no mark)');
    return this.stack.splice(m);
  };
  known = (module: string, name: string): KnownGlobal => {
    const g = this.o.globals(module, name);
    if (!g) {
      const shown = `${module}.${name}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
      return this.fail(
        `refuses the global '${shown}': a checkpoint holds tensors and plain values, and this names code`,
      );
    }
    return g;
  };
  call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof GlobalRef))
      return this.fail('corrupt pickle (calls something that is not a known global)');
    const list = (args instanceof PyTuple ? args.items : Array.isArray(args) ? args : []).map(this.unwrap);
    return new Built(fn, fn.g.call(list));
  };
  unwrap = (v: PyValue): PyValue => (v instanceof Built ? v.value : v);
  asKey = (v: PyValue): PyValue => {
    const u = this.unwrap(v);
    if (u instanceof PyTuple) return u.items.map(this.unwrap).join('\u0000');
    return u;
  };
  setItems = (d: PyValue, kv: PyValue[]) => {
    const m = this.unwrap(d);
    if (!(m instanceof Map)) return this.fail('corrupt pickle (SETITEM on something that is not a dict)');
    for (let i = 0; i + 1 < kv.length; i += 2) m.set(this.asKey(kv[i]!), this.unwrap(kv[i + 1]!));
  };
  append = (l: PyValue, items: PyValue[]) => {
    const a = this.unwrap(l);
    if (Array.isArray(a)) a.push(...items.map(this.unwrap));
    else if (a instanceof Set) for (const i of items) a.add(this.asKey(i));
    else this.fail('corrupt pickle (APPEND to something that is not a list)');
  };
}

/** A global the table knows, as pushed on the stack. */
export class GlobalRef {
  [k: string]: unknown;
  readonly kind = 'global';
  constructor(
    readonly module: string,
    readonly name: string,
    readonly g: KnownGlobal,
  ) {}
}

/** An object a known global made, remembered with its maker so BUILD can apply state. */
export class Built {
  [k: string]: unknown;
  readonly kind = 'built';
  constructor(
    readonly fn: GlobalRef,
    readonly value: PyValue,
  ) {}
}
