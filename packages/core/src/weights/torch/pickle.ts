import { CheckpointError } from '../../errors.js';

/**
 * A restricted unpickler: it reads Python's pickle format (protocols 0-5, the opcodes that
 * torch.save and the values beside a state dict use) into plain JavaScript values. It never
 * runs or imports anything: a GLOBAL is looked up in the caller's table of known names, and any
 * other name is refused with an error that names it. Written here because the pickle readers
 * on npm resolve globals to permissive stand-ins (any class becomes a generic object), which
 * is exactly what a checkpoint reader must not do.
 */

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

const MAX_OPCODES = 50_000_000;

/** Unpickles one pickle starting at `start`; returns the value and where the pickle ended. */
export function unpickle(
  bytes: Uint8Array,
  start: number,
  o: UnpickleOptions,
): { value: PyValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new CheckpointError(`${o.source}: ${why}`);
  };
  let pos = start;
  const need = (n: number) => {
    if (!(n >= 0) || pos + n > bytes.byteLength)
      fail(`truncated pickle (needs ${n} more bytes at byte ${pos})`);
  };
  const take = (n: number) => {
    need(n);
    const s = bytes.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  /** Reads a fixed-size little-endian field and moves past it. */
  const field = <T>(n: number, read: (at: number) => T): T => {
    need(n);
    const v = read(pos);
    pos += n;
    return v;
  };
  const u8 = () => field(1, (at) => bytes[at]!);
  const u16 = () => field(2, (at) => view.getUint16(at, true));
  const i32 = () => field(4, (at) => view.getInt32(at, true));
  const u32 = () => field(4, (at) => view.getUint32(at, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    return v > BigInt(bytes.byteLength) ? bytes.byteLength + 1 : Number(v);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle (unterminated line)');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (n: number) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(take(n));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail('a string in the pickle is not valid UTF-8');
    }
  };
  const latin1 = (n: number) => new TextDecoder('latin1').decode(take(n));
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const pop = (): PyValue => (stack.length ? stack.pop()! : fail('corrupt pickle (stack underflow)'));
  const top = (): PyValue => (stack.length ? stack[stack.length - 1]! : fail('corrupt pickle (empty stack)'));
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined || m > stack.length) return fail('corrupt pickle (no mark)');
    return stack.splice(m);
  };
  const known = (module: string, name: string): KnownGlobal => {
    const g = o.globals(module, name);
    if (!g) {
      const shown = `${module}.${name}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
      return fail(
        `refuses the global '${shown}': a checkpoint holds tensors and plain values, and this names code`,
      );
    }
    return g;
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof GlobalRef))
      return fail('corrupt pickle (calls something that is not a known global)');
    const list = (args instanceof PyTuple ? args.items : Array.isArray(args) ? args : []).map(unwrap);
    return new Built(fn, fn.g.call(list));
  };
  const unwrap = (v: PyValue): PyValue => (v instanceof Built ? v.value : v);
  const asKey = (v: PyValue): PyValue => {
    const u = unwrap(v);
    if (u instanceof PyTuple) return u.items.map(unwrap).join('\u0000');
    return u;
  };
  const setItems = (d: PyValue, kv: PyValue[]) => {
    const m = unwrap(d);
    if (!(m instanceof Map)) return fail('corrupt pickle (SETITEM on something that is not a dict)');
    for (let i = 0; i + 1 < kv.length; i += 2) m.set(asKey(kv[i]!), unwrap(kv[i + 1]!));
  };
  const append = (l: PyValue, items: PyValue[]) => {
    const a = unwrap(l);
    if (Array.isArray(a)) a.push(...items.map(unwrap));
    else if (a instanceof Set) for (const i of items) a.add(asKey(i));
    else fail('corrupt pickle (APPEND to something that is not a list)');
  };
  let items = 0;

  for (;;) {
    if (++items > MAX_OPCODES) fail('pickle too large');
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: unwrap(pop()), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(take(u32())));
        break;
      case 0x49: {
        // INT (protocol 0): "01"/"00" are True/False
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (protocol 0)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (protocol 0)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(latin1(i32()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark().map(unwrap)));
        break;
      case 0x85:
        stack.push(new PyTuple([unwrap(pop())]));
        break;
      case 0x86: {
        const b = unwrap(pop());
        stack.push(new PyTuple([unwrap(pop()), b]));
        break;
      }
      case 0x87: {
        const c = unwrap(pop());
        const b = unwrap(pop());
        stack.push(new PyTuple([unwrap(pop()), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark().map(unwrap));
        break;
      case 0x61: // APPEND
        append(stack[stack.length - 2] ?? fail('corrupt pickle'), [pop()]);
        break;
      case 0x65: {
        // APPENDS
        const xs = popMark();
        append(top(), xs);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map<PyValue, PyValue>();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const xs = popMark();
        append(top(), xs);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark().map(asKey)));
        break;
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x67 ? Number.parseInt(line(), 10) : op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`corrupt pickle (memo ${k} is not set)`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(new GlobalRef(module, name, known(module, name)));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('corrupt pickle (STACK_GLOBAL)');
        stack.push(new GlobalRef(module as string, name as string, known(module as string, name as string)));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Built && obj.fn.g.build)
          stack[stack.length - 1] = new Built(obj.fn, obj.fn.g.build(obj.value, unwrap(state)));
        break;
      }
      case 0x51: {
        // BINPERSID
        if (!o.persistentLoad) fail('the pickle refers to external data, which this file cannot hold');
        stack.push(o.persistentLoad!(unwrap(pop())));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}

/** A global the table knows, as pushed on the stack. */
class GlobalRef {
  [k: string]: unknown;
  readonly kind = 'global';
  constructor(
    readonly module: string,
    readonly name: string,
    readonly g: KnownGlobal,
  ) {}
}

/** An object a known global made, remembered with its maker so BUILD can apply state. */
class Built {
  [k: string]: unknown;
  readonly kind = 'built';
  constructor(
    readonly fn: GlobalRef,
    readonly value: PyValue,
  ) {}
}
