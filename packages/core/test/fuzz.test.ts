import { describe, expect, it } from 'vitest';
import {
  buildFromJson,
  CardinalError,
  createModel,
  initWeights,
  parseGraph,
  readNpy,
  readSafetensors,
  resnet,
  saveWeights,
  serializeGraph,
  summarize,
  writeNpy,
} from '../src/index.js';
import { prng, type Rng } from './helpers.js';

/**
 * Seeded, bounded fuzzing of every reader that takes user files. Each case must end in a
 * CardinalError (typed, documented) or a valid result: no other exception, no hang, and no
 * allocation out of proportion to the input (a header that claims 100 GB is refused first).
 */
const CASES = 10_000;

const HUGE = [2 ** 31, 2 ** 32 + 8, 2 ** 53, 1e11, 1e20, Number.MAX_SAFE_INTEGER];

/** Byte-level mutations: bit flips, truncation, extension, huge little-endian lengths, spliced bytes. */
function mutateBytes(base: Uint8Array, r: Rng): Uint8Array {
  const b = base.slice();
  switch (r.int(6)) {
    case 0: {
      for (let i = 0, n = 1 + r.int(8); i < n; i++) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      return b.subarray(0, r.int(b.length));
    case 2: {
      const pos = r.pick([0, 8, 10, 12, r.int(Math.max(1, b.length - 8))]);
      new DataView(b.buffer).setBigUint64(Math.min(pos, b.length - 8), BigInt(r.pick(HUGE)), true);
      return b;
    }
    case 3: {
      const out = new Uint8Array(b.length + 1 + r.int(64));
      out.set(b);
      for (let i = b.length; i < out.length; i++) out[i] = r.int(256);
      return out;
    }
    case 4: {
      const at = r.int(b.length);
      const len = r.int(32);
      for (let i = 0; i < len && at + i < b.length; i++)
        b[at + i] = r.pick([0x22, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x30, 0x39, 0x2d]);
      return b;
    }
    default:
      return new Uint8Array(r.int(48)).map(() => r.int(256));
  }
}

/** Text-level mutations of a JSON document, for the header of a file. */
function mutateJsonText(text: string, r: Rng): string {
  const edits: ((s: string) => string)[] = [
    (s) => s.replace(/"F32"/, `"${r.pick(['F8', 'I128', 'f32', '', 'BF16', 'F64', 'U8', 'BOOL'])}"`),
    (s) => s.replace(/\d+/, String(r.pick(HUGE))),
    (s) => s.replace(/\[(\d+), (\d+)\]/, `[${r.int(100)}, ${r.int(100)}]`),
    (s) => s.replace(/"data_offsets":\[(\d+),(\d+)\]/, `"data_offsets":[${r.int(300)},${r.int(300)}]`),
    (s) =>
      s.replace(
        /"shape":\[[^\]]*\]/,
        `"shape":[${r.pick(['-1', '1e30', '"2"', '1.5', '[]', 'null', '4294967296,4294967296'])}]`,
      ),
    (s) => `${'['.repeat(10_000 + r.int(100_000))}${s}`,
    (s) => s.slice(0, r.int(s.length)),
    (s) => s.replace(/:/, ':{"a":'.repeat(1 + r.int(2000))),
    // Valid JSON that is not an object, and an object naming a key twice.
    () => r.pick(['null', '[]', '"header"', '5', 'true', '{}']),
    (s) => s.replace(/^\{("[^"]+":\{[^}]*\})/, '{$1,$1'),
  ];
  return r.pick(edits)(text);
}

function safetensorsFile(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

interface Tally {
  valid: number;
  errors: number;
  other: string[];
}

/** Runs one case and classifies it; an unexpected exception type is recorded with its message. */
function classify(tally: Tally, fn: () => unknown, maxBytes: number): void {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  try {
    fn();
    tally.valid++;
  } catch (e) {
    if (e instanceof CardinalError) tally.errors++;
    else tally.other.push(`${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 200));
  }
  const grew = process.memoryUsage().arrayBuffers - before;
  if (grew > maxBytes) tally.other.push(`allocated ${grew} bytes for a ${maxBytes}-byte budget`);
  if (performance.now() - t0 > 2000)
    tally.other.push(`a case took ${(performance.now() - t0).toFixed(0)} ms`);
}

function report(name: string, tally: Tally): void {
  console.log(
    `fuzz ${name}: ${CASES} cases tried, ${tally.valid} valid, ${tally.errors} typed errors, ${tally.other.length} failures`,
  );
  expect(tally.other.slice(0, 5)).toEqual([]);
  expect(tally.valid + tally.errors).toBe(CASES);
}

describe('fuzzing', () => {
  it('the safetensors reader', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 4, name: 'fuzz' });
    const small = new Map([...initWeights(g)].slice(0, 6));
    const base = saveWeights(
      { ...g, params: Object.fromEntries(Object.entries(g.params).filter(([k]) => small.has(k))) },
      small,
    );
    const headerLen = Number(new DataView(base.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
    const data = base.subarray(8 + headerLen);
    const r = prng(1);
    const tally: Tally = { valid: 0, errors: 0, other: [] };
    for (let i = 0; i < CASES; i++) {
      const bytes = r.next() < 0.5 ? mutateBytes(base, r) : safetensorsFile(mutateJsonText(header, r), data);
      // Decoding to float32 may take 4 bytes per stored byte (U8, I8, BOOL), plus the header's JSON.
      classify(tally, () => readSafetensors(bytes, 'fuzz.safetensors'), 8 * bytes.length + (1 << 20));
    }
    report('safetensors', tally);
  });

  it('the .npy reader', () => {
    const base = writeNpy({ shape: [2, 3, 4], data: new Float32Array(24).map((_, i) => i / 7) });
    const r = prng(2);
    const tally: Tally = { valid: 0, errors: 0, other: [] };
    const headers = [
      (s: string) =>
        s.replace("'<f4'", `'${r.pick(['<f8', '>f4', '<f2', '|u1', '<i8', '<c8', '|O', '<U3', '<f16'])}'`),
      (s: string) => s.replace('False', r.pick(['True', 'false', '0'])),
      (s: string) =>
        s.replace(
          '(2, 3, 4)',
          `(${r.pick(['99999999999999999999', '1e9, 1e9', '-1', '', ',', '2, 3, 4, 5', '4294967296, 4294967296'])})`,
        ),
    ];
    for (let i = 0; i < CASES; i++) {
      let bytes: Uint8Array;
      if (r.next() < 0.6) {
        bytes = mutateBytes(base, r);
      } else {
        const text = new TextDecoder('latin1').decode(
          base.subarray(10, 10 + new DataView(base.buffer).getUint16(8, true)),
        );
        const h = new TextEncoder().encode(r.pick(headers)(text));
        bytes = new Uint8Array(10 + h.length + 96);
        bytes.set(base.subarray(0, 8));
        new DataView(bytes.buffer).setUint16(8, h.length, true);
        bytes.set(h, 10);
      }
      classify(tally, () => readNpy(bytes, 'fuzz.npy'), 8 * bytes.length + (1 << 16));
    }
    report('npy', tally);
  });

  it('the graph JSON loader', () => {
    const g = resnet(
      {
        block: 'ResNestBottleneck',
        layers: [1, 1],
        channels: [8, 16],
        stemType: 'deep',
        stemWidth: 8,
        avgDown: true,
        blockArgs: { radix: 2, avd: true },
        numClasses: 5,
      },
      { inputShape: [1, 3, 32, 32] },
    );
    const text = serializeGraph(g);
    const doc = JSON.parse(text);
    const r = prng(3);
    const tally: Tally = { valid: 0, errors: 0, other: [] };
    const structural: (() => string)[] = [
      () => {
        const d = structuredClone(doc);
        const n = d.graph.nodes[r.int(d.graph.nodes.length)];
        const key = r.pick(
          Object.keys(n.attrs).concat(['kernel', 'groups', 'axis', 'sizes', 'perm', 'shape']),
        );
        n.attrs[key] = r.pick([0, -1, 1e9, 'x', true, [], [1, 2, 3, 4, 5], [0, 0], [-3, 7], null, 2.5]);
        return JSON.stringify(d);
      },
      () => {
        const d = structuredClone(doc);
        const n = d.graph.nodes[r.int(d.graph.nodes.length)];
        n[r.pick(['op', 'inputs', 'outputs', 'params', 'path'])] = r.pick([
          'conv2d',
          'softmax',
          [],
          ['input', 'input'],
          {},
          7,
          '__proto__',
        ]);
        return JSON.stringify(d);
      },
      () => {
        const d = structuredClone(doc);
        const keys = Object.keys(d.graph.params);
        d.graph.params[r.pick(keys)].shape = r.pick([[], [1e12], [-1], [3, 3], ['a']]);
        return JSON.stringify(d);
      },
      () => {
        const d = structuredClone(doc);
        const t = d.graph.tensors[r.pick(Object.keys(d.graph.tensors))];
        t.shape = t.shape.map((v: number) => (r.next() < 0.5 ? v + 1 : v));
        return JSON.stringify(d);
      },
      () => {
        const d = structuredClone(doc);
        d.graph.nodes.splice(r.int(d.graph.nodes.length), 1);
        return JSON.stringify(d);
      },
      () => {
        const d = structuredClone(doc);
        const i = r.int(d.graph.nodes.length - 1);
        [d.graph.nodes[i], d.graph.nodes[i + 1]] = [d.graph.nodes[i + 1], d.graph.nodes[i]];
        return JSON.stringify(d);
      },
      () => JSON.stringify({ ...doc, version: r.pick([0, 2, '1', null]) }),
      () => `${'{"a":'.repeat(5000 + r.int(50_000))}1${'}'.repeat(r.int(3))}`,
      () => mutateJsonText(text, r),
      () => new TextDecoder().decode(mutateBytes(new TextEncoder().encode(text), r)),
    ];
    for (let i = 0; i < CASES; i++) {
      const t = r.pick(structural)();
      classify(tally, () => parseGraph(t, 'fuzz.graph.json'), 64 * t.length + (1 << 24));
    }
    report('graph JSON', tally);
  });

  it('the config loader (timm ResNet configs, block configs, meta.json)', () => {
    const bases: Record<string, unknown>[] = [
      {
        block: 'ResNestBottleneck',
        layers: [1, 1],
        channels: [8, 16],
        stem_type: 'deep',
        stem_width: 8,
        avg_down: true,
        block_args: { radix: 2, avd: true },
        num_classes: 3,
      },
      {
        block: 'SelectiveKernelBottleneck',
        layers: [1, 1],
        channels: [8, 16],
        cardinality: 4,
        base_width: 16,
        block_args: { sk_kwargs: { rd_ratio: 0.25, split_input: false } },
        num_classes: 3,
      },
      {
        block: 'Bottleneck',
        layers: [1, 1],
        channels: [8, 16],
        cardinality: 4,
        base_width: 16,
        block_args: { attn_layer: 'se' },
        num_classes: 3,
        output_stride: 16,
      },
      { module: 'timm.layers.SplitAttn', args: { in_channels: 16, out_channels: 16, radix: 2, groups: 2 } },
      {
        kind: 'block',
        input_shape: [1, 16, 5, 7],
        config: {
          module: 'timm.layers.SelectiveKernel',
          args: { in_channels: 16, out_channels: 16, rd_ratio: 0.25 },
        },
      },
    ];
    const values = [
      0,
      -1,
      1,
      2,
      3,
      7,
      1e9,
      2.5,
      Number.NaN,
      'x',
      '',
      true,
      false,
      null,
      [],
      {},
      [1, 2, 3],
      [0],
      [1e6],
      'deep',
      'BasicBlock',
      'se',
    ];
    const r = prng(4);
    const tally: Tally = { valid: 0, errors: 0, other: [] };
    const mutate = (v: unknown, depth: number): unknown => {
      if (Array.isArray(v))
        return r.next() < 0.3 ? r.pick(values) : v.map((x) => (r.next() < 0.3 ? mutate(x, depth + 1) : x));
      if (v && typeof v === 'object') {
        const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
        const keys = Object.keys(o);
        const k = r.pick(keys);
        const op = r.int(5);
        if (op === 0) delete o[k];
        else if (op === 1) o[k] = r.pick(values);
        else if (op === 2)
          o[r.pick(['stem_widht', 'radixx', '__proto__', 'constructor', 'x'])] = r.pick(values);
        else if (op === 3 && depth < 4) o[k] = mutate(o[k], depth + 1);
        else {
          // Deep nesting where a number or list belongs.
          const n = 1 + r.int(3000);
          o[k] = JSON.parse(`${'['.repeat(n)}1${']'.repeat(n)}`);
        }
        return o;
      }
      return r.next() < 0.5 ? r.pick(values) : v;
    };
    for (let i = 0; i < CASES; i++) {
      let value: unknown;
      try {
        value = mutate(structuredClone(r.pick(bases)), 0);
      } catch {
        value = { block: 'Bottleneck', layers: [[[[[[1]]]]]] };
      }
      classify(
        tally,
        () => {
          const built = buildFromJson(value, {
            source: 'fuzz.json',
            inputShape: r.next() < 0.5 ? [1, 3, 33, 29] : undefined,
          });
          summarize(built.graph);
        },
        1 << 26,
      );
    }
    report('config', tally);
  });
});
