/**
 * A reader for the Python literals a .npy header holds: dicts, tuples, lists, plain quoted
 * strings, decimal integers, True, False and None. It follows `ast.literal_eval` (which numpy
 * uses) where it accepts: a repeated dict key keeps its last value, `(3)` is 3 and `(3,)` a
 * tuple. Anything rarer (escapes, string prefixes, floats, comments) is refused, which is safe:
 * a header this reader refuses is never misread.
 */
export type PyValue = string | number | boolean | null | PyTuple | PyValue[] | Map<PyHashable, PyValue>;
export type PyHashable = string | number | boolean | null;
export interface PyTuple {
  tuple: PyValue[];
}

export class PyLiteralError extends Error {}

const MAX_DEPTH = 32;

export function isTuple(v: PyValue): v is PyTuple {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new PyLiteralError(`${what} at character ${pos}`);
  };
  const skip = () => {
    while (pos < text.length && ' \t\n\r\f\v'.includes(text[pos]!)) pos++;
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') return dict(depth);
    if (c === '(') return tupleOrGroup(depth);
    if (c === '[') return list(depth);
    if (c === "'" || c === '"') return str(c);
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return int();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (text.startsWith(word, pos) && !/[A-Za-z0-9_]/.test(text[pos + word.length] ?? '')) {
        pos += word.length;
        return v;
      }
    }
    return fail(`unexpected '${c}'`);
  };
  const str = (q: string): string => {
    const end = text.indexOf(q, pos + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(pos + 1, end);
    if (/[\\\n\r]/.test(s)) fail('escapes and line breaks in strings are not supported');
    pos = end + 1;
    return s;
  };
  const int = (): number => {
    const m = /^[-+]?[0-9]+/.exec(text.slice(pos, pos + 40));
    if (!m) return fail('bad number');
    const digits = m[0].replace(/^[-+]/, '');
    // Python refuses leading zeros ("010") except for zero itself.
    if (digits.length > 1 && digits.startsWith('0') && /[1-9]/.test(digits)) fail('leading zeros');
    if (/^[.eEjJxXoObB_]/.test(text[pos + m[0].length] ?? '')) fail('only decimal integers are supported');
    pos += m[0].length;
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail('integer too large');
    return n;
  };
  // Items up to `close`, with an optional trailing comma; reports whether any comma was seen.
  const items = (close: string, depth: number, each: () => void): boolean => {
    pos++;
    let comma = false;
    skip();
    while (text[pos] !== close) {
      each();
      skip();
      if (text[pos] === ',') {
        comma = true;
        pos++;
        skip();
      } else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
    void depth;
    return comma;
  };
  const list = (depth: number): PyValue[] => {
    const out: PyValue[] = [];
    items(']', depth, () => out.push(value(depth + 1)));
    return out;
  };
  const tupleOrGroup = (depth: number): PyValue => {
    const out: PyValue[] = [];
    const comma = items(')', depth, () => out.push(value(depth + 1)));
    if (out.length === 1 && !comma) return out[0]!;
    return { tuple: out };
  };
  const dict = (depth: number): Map<PyHashable, PyValue> => {
    const out = new Map<PyHashable, PyValue>();
    items('}', depth, () => {
      const key = value(depth + 1);
      if (typeof key === 'object' && key !== null) fail('unhashable dict key');
      skip();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      // As in Python, a repeated key keeps its place and takes the last value.
      out.set(key as PyHashable, value(depth + 1));
    });
    return out;
  };
  // literal_eval strips leading spaces and tabs only.
  while (text[pos] === ' ' || text[pos] === '\t') pos++;
  if (pos < text.length && '\n\r\f\v'.includes(text[pos]!)) fail('unexpected line break');
  const v = value(0);
  skip();
  if (pos !== text.length) fail('unexpected text after the literal');
  return v;
}
