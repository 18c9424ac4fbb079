import {
  Built,
  GlobalRef,
  PickleMachine,
  PyTuple,
  type PyValue,
  type UnpickleOptions,
} from './pickle-machine.js';

export { type KnownGlobal, PyTuple, type PyValue, type UnpickleOptions } from './pickle-machine.js';

/**
 * A restricted unpickler: it reads Python's pickle format (protocols 0-5, the opcodes that
 * torch.save and the values beside a state dict use) into plain JavaScript values. It never
 * runs or imports anything: a GLOBAL is looked up in the caller's table of known names, and any
 * other name is refused with an error that names it. Written here because the pickle readers
 * on npm resolve globals to permissive stand-ins (any class becomes a generic object), which
 * is exactly what a checkpoint reader must not do.
 */

const MAX_OPCODES = 50_000_000;

/** One opcode: it moves the machine on (STOP sets its result). */
type Opcode = (vm: PickleMachine, op: number) => void;

/** GET / BINGET / LONG_BINGET */
const memoGet: Opcode = (vm, op) => {
  const k = op === 0x67 ? Number.parseInt(vm.line(), 10) : op === 0x68 ? vm.u8() : vm.u32();
  if (!vm.memo.has(k)) vm.fail(`corrupt pickle (memo ${k} is not set)`);
  vm.stack.push(vm.memo.get(k)!);
};

/** The opcodes this unpickler runs (protocols 0-5), by byte, each with pickletools' name and hex code. */
const OPCODES: Readonly<Record<number, Opcode>> = {
  // PROTO (0x80)
  128: (vm) => {
    if (vm.u8() > 5) vm.fail('pickle protocol newer than 5');
  },
  // FRAME (0x95)
  149: (vm) => vm.u64(),
  // STOP (0x2e)
  46: (vm) => (vm.result = { value: vm.unwrap(vm.pop()) }),
  // MARK (0x28)
  40: (vm) => vm.marks.push(vm.stack.length),
  // POP (0x30)
  48: (vm) => vm.pop(),
  // POP_MARK (0x31)
  49: (vm) => vm.popMark(),
  // DUP (0x32)
  50: (vm) => vm.stack.push(vm.top()),
  // NONE (0x4e)
  78: (vm) => vm.stack.push(null),
  // NEWTRUE (0x88)
  136: (vm) => vm.stack.push(true),
  // NEWFALSE (0x89)
  137: (vm) => vm.stack.push(false),
  // BININT (0x4a)
  74: (vm) => vm.stack.push(vm.i32()),
  // BININT1 (0x4b)
  75: (vm) => vm.stack.push(vm.u8()),
  // BININT2 (0x4d)
  77: (vm) => vm.stack.push(vm.u16()),
  // LONG1 (0x8a)
  138: (vm) => vm.stack.push(vm.long(vm.take(vm.u8()))),
  // LONG4 (0x8b)
  139: (vm) => vm.stack.push(vm.long(vm.take(vm.u32()))),
  // INT (protocol 0): "01"/"00" are True/False (0x49)
  73: (vm) => {
    const s = vm.line();
    vm.stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
  },
  // LONG (protocol 0) (0x4c)
  76: (vm) => vm.stack.push(Number.parseInt(vm.line().replace(/L$/, ''), 10)),
  // BINFLOAT (big-endian) (0x47)
  71: (vm) => {
    vm.need(8);
    vm.stack.push(vm.view.getFloat64(vm.pos, false));
    vm.pos += 8;
  },
  // FLOAT (protocol 0) (0x46)
  70: (vm) => vm.stack.push(Number.parseFloat(vm.line())),
  // BINUNICODE (0x58)
  88: (vm) => vm.stack.push(vm.utf8(vm.u32())),
  // SHORT_BINUNICODE (0x8c)
  140: (vm) => vm.stack.push(vm.utf8(vm.u8())),
  // BINUNICODE8 (0x8d)
  141: (vm) => vm.stack.push(vm.utf8(vm.u64())),
  // BINSTRING (Python 2 str) (0x54)
  84: (vm) => vm.stack.push(vm.latin1(vm.i32())),
  // SHORT_BINSTRING (0x55)
  85: (vm) => vm.stack.push(vm.latin1(vm.u8())),
  // BINBYTES (0x42)
  66: (vm) => vm.stack.push(vm.take(vm.u32())),
  // SHORT_BINBYTES (0x43)
  67: (vm) => vm.stack.push(vm.take(vm.u8())),
  // BINBYTES8 (0x8e)
  142: (vm) => vm.stack.push(vm.take(vm.u64())),
  // EMPTY_TUPLE (0x29)
  41: (vm) => vm.stack.push(new PyTuple([])),
  // TUPLE (0x74)
  116: (vm) => vm.stack.push(new PyTuple(vm.popMark().map(vm.unwrap))),
  // TUPLE1 (0x85)
  133: (vm) => vm.stack.push(new PyTuple([vm.unwrap(vm.pop())])),
  // TUPLE2 (0x86)
  134: (vm) => {
    const b = vm.unwrap(vm.pop());
    vm.stack.push(new PyTuple([vm.unwrap(vm.pop()), b]));
  },
  // TUPLE3 (0x87)
  135: (vm) => {
    const c = vm.unwrap(vm.pop());
    const b = vm.unwrap(vm.pop());
    vm.stack.push(new PyTuple([vm.unwrap(vm.pop()), b, c]));
  },
  // EMPTY_LIST (0x5d)
  93: (vm) => vm.stack.push([]),
  // LIST (0x6c)
  108: (vm) => vm.stack.push(vm.popMark().map(vm.unwrap)),
  // APPEND (0x61)
  97: (vm) => vm.append(vm.stack[vm.stack.length - 2] ?? vm.fail('corrupt pickle'), [vm.pop()]),
  // APPENDS (0x65)
  101: (vm) => {
    const xs = vm.popMark();
    vm.append(vm.top(), xs);
  },
  // EMPTY_DICT (0x7d)
  125: (vm) => vm.stack.push(new Map()),
  // DICT (0x64)
  100: (vm) => {
    const d = new Map<PyValue, PyValue>();
    vm.setItems(d, vm.popMark());
    vm.stack.push(d);
  },
  // SETITEM (0x73)
  115: (vm) => {
    const v = vm.pop();
    const k = vm.pop();
    vm.setItems(vm.top(), [k, v]);
  },
  // SETITEMS (0x75)
  117: (vm) => {
    const kv = vm.popMark();
    vm.setItems(vm.top(), kv);
  },
  // EMPTY_SET (0x8f)
  143: (vm) => vm.stack.push(new Set()),
  // ADDITEMS (0x90)
  144: (vm) => {
    const xs = vm.popMark();
    vm.append(vm.top(), xs);
  },
  // FROZENSET (0x91)
  145: (vm) => vm.stack.push(new Set(vm.popMark().map(vm.asKey))),
  // PUT (0x70)
  112: (vm) => vm.memo.set(Number.parseInt(vm.line(), 10), vm.top()),
  // BINPUT (0x71)
  113: (vm) => vm.memo.set(vm.u8(), vm.top()),
  // LONG_BINPUT (0x72)
  114: (vm) => vm.memo.set(vm.u32(), vm.top()),
  // MEMOIZE (0x94)
  148: (vm) => vm.memo.set(vm.memo.size, vm.top()),
  103: memoGet,
  104: memoGet,
  106: memoGet,
  // GLOBAL (0x63)
  99: (vm) => {
    const module = vm.line();
    const name = vm.line();
    vm.stack.push(new GlobalRef(module, name, vm.known(module, name)));
  },
  // STACK_GLOBAL (0x93)
  147: (vm) => {
    const name = vm.pop();
    const module = vm.pop();
    if (typeof module !== 'string' || typeof name !== 'string') vm.fail('corrupt pickle (STACK_GLOBAL)');
    vm.stack.push(
      new GlobalRef(module as string, name as string, vm.known(module as string, name as string)),
    );
  },
  // REDUCE (0x52)
  82: (vm) => {
    const args = vm.pop();
    vm.stack.push(vm.call(vm.pop(), args));
  },
  // NEWOBJ (0x81)
  129: (vm) => {
    const args = vm.pop();
    vm.stack.push(vm.call(vm.pop(), args));
  },
  // NEWOBJ_EX (0x92)
  146: (vm) => {
    vm.pop();
    const args = vm.pop();
    vm.stack.push(vm.call(vm.pop(), args));
  },
  // BUILD (0x62)
  98: (vm) => {
    const state = vm.pop();
    const obj = vm.top();
    if (obj instanceof Built && obj.fn.g.build)
      vm.stack[vm.stack.length - 1] = new Built(obj.fn, obj.fn.g.build(obj.value, vm.unwrap(state)));
  },
  // BINPERSID (0x51)
  81: (vm) => {
    if (!vm.o.persistentLoad) vm.fail('the pickle refers to external data, which this file cannot hold');
    vm.stack.push(vm.o.persistentLoad!(vm.unwrap(vm.pop())));
  },
};

/** Unpickles one pickle starting at `start`; returns the value and where the pickle ended. */
export function unpickle(
  bytes: Uint8Array,
  start: number,
  o: UnpickleOptions,
): { value: PyValue; end: number } {
  const vm = new PickleMachine(bytes, start, o);
  for (let count = 1; ; count++) {
    if (count > MAX_OPCODES) vm.fail('pickle too large');
    const op = vm.u8();
    const run = Object.hasOwn(OPCODES, op)
      ? OPCODES[op]!
      : vm.fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${vm.pos - 1}`);
    run(vm, op);
    if (vm.result) return { value: vm.result.value, end: vm.pos };
  }
}
