// ONNX's own operator tests (Debian's libonnx-testdata) run through Cardinal's importer on a
// backend. Each test is a folder: model.onnx and test_data_set_*/{input,output}_*.pb.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSTANT_INPUTS, IMPORTED_OPS, importOnnx, OnnxImportError } from '@cardinal/backend-onnx';
import type { Backend, Tensor } from '@cardinal/core';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** Where Debian's libonnx-testdata puts the tests. */
export const DEBIAN_ONNX_TESTDATA = '/usr/share/libonnx-testdata/data';
/** The folders of ONNX's backend tests that hold operator and model tests. */
export const ONNX_SUITES = ['node', 'pytorch-converted', 'pytorch-operator'] as const;

/** A result outside rtol 1e-3 and atol 1e-5 of the expected output is a failure. */
export const TOLERANCE = { rtol: 1e-3, atol: 1e-5 } as const;

export interface OnnxTest {
  /** `<suite>/<test>`, e.g. `node/test_conv_with_strides_padding`. */
  name: string;
  dir: string;
}

export type OnnxTestResult =
  | { name: string; status: 'passed'; maxAbsDiff: number }
  | { name: string; status: 'failed'; reason: string }
  | { name: string; status: 'unsupported'; reason: string };

/** Every test folder under the suites of `root`, sorted by name. */
export function listOnnxTests(root = DEBIAN_ONNX_TESTDATA): OnnxTest[] {
  const tests: OnnxTest[] = [];
  for (const suite of ONNX_SUITES) {
    const dir = join(root, suite);
    if (!existsSync(dir)) continue;
    for (const t of readdirSync(dir).sort())
      if (existsSync(join(dir, t, 'model.onnx'))) tests.push({ name: `${suite}/${t}`, dir: join(dir, t) });
  }
  return tests;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function readPb(path: string): TensorProto {
  return onnx.TensorProto.decode(readFileSync(path));
}

function floats(t: TensorProto): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const out = new Float32Array(t.rawData.length / 4);
    new Uint8Array(out.buffer).set(t.rawData);
    return out;
  }
  return Float32Array.from(t.floatData ?? []);
}

function dataSets(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((d) => join(dir, d));
}

function numbered(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
    .map((f) => join(dir, f));
}

/** Which graph inputs are read as constants: integer ones, and those at an op's constant positions. */
function constantInputs(
  graph: onnxProto.onnx.IGraphProto,
  inputs: { name: string; t: TensorProto }[],
): Set<string> {
  const out = new Set(inputs.filter((i) => i.t.dataType !== FLOAT).map((i) => i.name));
  for (const node of graph.node ?? [])
    for (const pos of CONSTANT_INPUTS[node.opType ?? ''] ?? []) {
      const name = node.input?.[pos];
      if (name) out.add(name);
    }
  return out;
}

/** Runs one test (every data set) on a backend. */
export async function runOnnxTest(test: OnnxTest, backend: Backend): Promise<OnnxTestResult> {
  const { name } = test;
  const model = onnx.ModelProto.decode(readFileSync(join(test.dir, 'model.onnx')));
  const graph = model.graph!;
  const unclaimed = [...new Set((graph.node ?? []).map((n) => n.opType ?? ''))].filter(
    (op) => !IMPORTED_OPS.includes(op),
  );
  if (unclaimed.length > 0)
    return {
      name,
      status: 'unsupported',
      reason: `op ${unclaimed.join(', ')} is not in the importer's list`,
    };
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).filter((i) => !initialized.has(i.name));
  let worst = 0;
  for (const set of dataSets(test.dir)) {
    const given = numbered(set, 'input_').map(readPb);
    const expected = numbered(set, 'output_').map(readPb);
    if (given.length !== graphInputs.length)
      return {
        name,
        status: 'unsupported',
        reason: `${given.length} inputs for ${graphInputs.length} graph inputs (optional inputs left out)`,
      };
    const inputs = graphInputs.map((g, i) => ({ name: g.name ?? '', t: given[i]! }));
    if (expected.some((t) => t.dataType !== FLOAT))
      return {
        name,
        status: 'unsupported',
        reason: 'an output is not float32 (integer and boolean types are out of scope)',
      };
    // Constants travel in the file as initializers, as an exporter would have written them.
    const bound = constantInputs(graph, inputs);
    const withConstants = onnx.ModelProto.create({
      ...model,
      graph: onnx.GraphProto.create({
        ...graph,
        initializer: [
          ...(graph.initializer ?? []),
          ...inputs
            .filter((i) => bound.has(i.name))
            .map((i) => onnx.TensorProto.create({ ...i.t, name: i.name })),
        ],
      }),
    });
    const feeds = inputs.filter((i) => !bound.has(i.name));
    if (feeds.some((f) => f.t.dataType !== FLOAT))
      return {
        name,
        status: 'unsupported',
        reason: 'an input is not float32 (integer and boolean types are out of scope)',
      };
    let imported: ReturnType<typeof importOnnx>;
    try {
      imported = importOnnx(onnx.ModelProto.encode(withConstants).finish(), {
        source: name,
        inputShape: undefined,
      });
    } catch (e) {
      if (e instanceof OnnxImportError) return { name, status: 'unsupported', reason: e.message };
      throw e;
    }
    const g = imported.graph;
    const exe = await backend.compile(g, imported.weights);
    try {
      const run: Record<string, Tensor> = {};
      for (const f of feeds) run[f.name] = { shape: (f.t.dims ?? []).map(Number), data: floats(f.t) };
      let out: Record<string, Tensor>;
      try {
        out = await exe.run(run);
      } catch (e) {
        return { name, status: 'failed', reason: `run: ${(e as Error).message.split('\n')[0]}` };
      }
      for (const [k, exp] of expected.entries()) {
        const y = out[g.outputs[k]!];
        const want = floats(exp);
        const wantShape = (exp.dims ?? []).map(Number);
        if (!y) return { name, status: 'failed', reason: `output ${k} is missing` };
        if (y.data.length !== want.length || y.shape.join() !== wantShape.join())
          return {
            name,
            status: 'failed',
            reason: `output ${k} has shape [${y.shape}], expected [${wantShape}]`,
          };
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs(y.data[i]! - want[i]!);
          const ok =
            d <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(want[i]!) ||
            (Number.isNaN(want[i]!) && Number.isNaN(y.data[i]!));
          if (!ok)
            return {
              name,
              status: 'failed',
              reason: `output ${k}[${i}] = ${y.data[i]}, expected ${want[i]} (|diff| ${d.toExponential(2)})`,
            };
          if (Number.isFinite(d)) worst = Math.max(worst, d);
        }
      }
    } finally {
      exe.dispose();
    }
  }
  return { name, status: 'passed', maxAbsDiff: worst };
}

export interface OnnxSuiteReport {
  backend: string;
  passed: number;
  failed: number;
  unsupported: number;
  results: OnnxTestResult[];
}

/** Runs every test (or those whose name contains `filter`) on a backend. */
export async function runOnnxSuite(
  backend: Backend,
  options: { root?: string; filter?: string; onResult?: (r: OnnxTestResult) => void } = {},
): Promise<OnnxSuiteReport> {
  const results: OnnxTestResult[] = [];
  for (const test of listOnnxTests(options.root)) {
    if (options.filter && !test.name.includes(options.filter)) continue;
    let r: OnnxTestResult;
    try {
      r = await runOnnxTest(test, backend);
    } catch (e) {
      r = { name: test.name, status: 'failed', reason: (e as Error).message.split('\n')[0]! };
    }
    results.push(r);
    options.onResult?.(r);
  }
  const count = (s: OnnxTestResult['status']) => results.filter((r) => r.status === s).length;
  return {
    backend: backend.name,
    passed: count('passed'),
    failed: count('failed'),
    unsupported: count('unsupported'),
    results,
  };
}
