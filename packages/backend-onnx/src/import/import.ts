import {
  type Graph,
  GraphBuilder,
  loadWeights,
  type SymbolicTensor,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import type {
  DecodedModel,
  DecodedNode as NodeProto,
  DecodedTensor as TensorProto,
  DecodedValueInfo as ValueInfoProto,
} from '../proto.js';
import { onnx } from '../proto.js';
import { NodeImport, type Placement } from './context.js';
import { OnnxImportError } from './errors.js';
import { FOLDERS } from './fold.js';
import { modulePathFromName } from './module-path.js';
import { IMPORTERS } from './ops.js';

export { CONSTANT_INPUTS } from './constant-inputs.js';

import { type ConstValue, readTensor } from './tensors.js';
import { UniquePaths } from './unique-paths.js';

export interface OnnxImportOptions {
  /** Where the bytes came from, for messages. */
  source?: string;
  /** The size of a symbolic batch dimension (default 1): the IR's shapes are static. */
  batch?: number;
  /** The input's full shape, overriding what the file declares. */
  inputShape?: number[];
}

export interface ImportedModel {
  graph: Graph;
  weights: WeightMap;
  /** The opset of the default domain the file declares. */
  opset: number;
  /** Axes of the (first) input the file leaves symbolic (a `dim_param`, such as a dynamic batch). */
  symbolicAxes: number[];
  producer: string;
}

/** Every ONNX op type the importer reads (shape arithmetic only where its inputs are constant). */
export const IMPORTED_OPS: readonly string[] = [
  ...new Set([...Object.keys(IMPORTERS), ...Object.keys(FOLDERS), 'Identity', 'Constant']),
].sort();

/** The opsets this importer reads (what Debian's onnx and torch write, and ONNX's oldest node tests). */
export const IMPORT_OPSETS = [1, 17] as const;

type ModelProto = InstanceType<typeof onnx.ModelProto>;

function decode(bytes: Uint8Array, source: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxImportError(
      `${source}: not a readable ONNX model (${(e as Error).message.split('\n')[0]})`,
    );
  }
}

/**
 * Reads an .onnx model into a Cardinal graph and its weights: initializers become parameters
 * named `<module path>.<role>` (the path from the node's doc string, as Cardinal writes it, or
 * from PyTorch's scoped node names), shapes are inferred by the IR from the input's. Anything
 * the IR cannot represent exactly is refused with one line naming the node, op and opset.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): ImportedModel {
  const source = options.source ?? 'model.onnx';
  const model = decode(bytes, source);
  const g = model.graph;
  if (!g) throw new OnnxImportError(`${source}: the model has no graph`);
  const opset = defaultOpset(model, source);
  if ((g.sparseInitializer?.length ?? 0) > 0)
    throw new OnnxImportError(`${source}: sparse initializers are not supported`);

  const constants = new Map<string, ConstValue>();
  for (const t of g.initializer ?? []) constants.set(t.name ?? '', readTensor(t, 'initializer'));
  const dataInputs = (g.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  if (dataInputs.length === 0) throw new OnnxImportError(`${source}: the graph has no input`);

  const b = new GraphBuilder(g.name || 'onnx_model');
  const values = declareInputs(b, dataInputs, options, source);
  const symbolicAxes = (dataInputs[0]?.type?.tensorType?.shape?.dim ?? []).flatMap((d, i) =>
    d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? [] : [i],
  );

  const nodes = g.node ?? [];
  // Every name a node produces, to tell a cycle (produced later) from a missing tensor.
  const producedBy = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producedBy.set(o, i);
  });
  const fromCardinal = model.producerName === 'cardinal';
  const taken = new UniquePaths();
  const weights = new Map<string, Tensor>();
  /** A float constant used as a tensor becomes a `constant` node, once per name and rank. */
  const made = new Map<string, SymbolicTensor>();
  const materialize = (name: string, c: ConstValue & { kind: 'float' }, rank: number): SymbolicTensor => {
    const shape = [...Array(Math.max(0, rank - c.shape.length)).fill(1), ...c.shape];
    const key = `${name}@${rank}`;
    const done = made.get(key);
    if (done) return done;
    const path = taken.claim(
      `const.${name
        .replace(/^[/.]+/, '')
        .replace(/[^\w.]+/g, '_')
        .replace(/\.value$/, '')}`,
    );
    const t = b.node('constant', [], { shape }, path)[0]!;
    weights.set(`${path}.value`, { shape, data: c.data });
    made.set(key, t);
    return t;
  };
  for (const [i, node] of nodes.entries()) {
    const domain = node.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx')
      throw new OnnxImportError(
        `${source}: node '${node.name}' (${node.opType}): domain '${domain}' is not supported`,
      );
    checkNodeInputs(node, i, (name) => values.has(name) || constants.has(name), producedBy, source);
    const op = node.opType ?? '';
    if (op === 'Identity') {
      const src = node.input?.[0] ?? '';
      const v = values.get(src);
      if (v) values.set(node.output![0]!, v);
      else if (constants.has(src)) constants.set(node.output![0]!, constants.get(src)!);
      continue;
    }
    if (op === 'Constant') {
      const t = (node.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (!t)
        throw new OnnxImportError(
          `${source}: node '${node.name}' (Constant, opset ${opset}): only the 'value' attribute is supported`,
        );
      constants.set(node.output![0]!, readTensor(t as TensorProto, node.output![0]!));
      continue;
    }
    const importer = IMPORTERS[op];
    const folder = FOLDERS[op];
    if (!importer && !folder)
      throw new OnnxImportError(
        `${source}: node '${node.name}' (${op}, opset ${opset}): the op is not supported`,
      );
    const ctx = new NodeImport(
      b,
      node,
      opset,
      values,
      constants,
      weights,
      place(node, fromCardinal, taken),
      materialize,
    );
    let outs: SymbolicTensor[];
    try {
      // Shape arithmetic on constants (and Shape of any tensor) folds to a constant.
      const folded = folder?.(ctx.fold());
      if (folded) {
        constants.set(node.output![0]!, folded);
        continue;
      }
      outs = importer
        ? importer(ctx)
        : ctx.refuse('only shape arithmetic is supported for this op (its input is a computed tensor)');
    } catch (e) {
      if (e instanceof OnnxImportError) throw new OnnxImportError(`${source}: ${e.message}`);
      throw new OnnxImportError(
        `${source}: node '${node.name}' (${op}, opset ${opset}): ${(e as Error).message}`,
      );
    }
    (node.output ?? []).forEach((o, k) => {
      if (o) values.set(o, outs[k]!);
    });
  }
  for (const o of g.output ?? []) {
    const t = values.get(o.name ?? '');
    if (!t)
      throw new OnnxImportError(
        `${source}: output '${o.name}' is not computed by the graph (a constant output is not supported)`,
      );
    b.output(t);
  }
  const graph = b.build();
  const loaded = loadWeights(graph, weights, { source });
  return {
    graph,
    weights: loaded.weights,
    opset,
    symbolicAxes,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
  };
}

/**
 * Where a node's IR node goes. Cardinal's own files keep the module path in the doc string and
 * name a module's node after it; other exporters' scoped names give the path (numbered when
 * a module appears twice), else the op's name does.
 */
function place(node: NodeProto, fromCardinal: boolean, taken: UniquePaths): Placement {
  if (fromCardinal && node.docString !== undefined) {
    const path = node.docString ?? '';
    // A module used twice is named `<path>#2` by the builder, which does so again.
    const name = node.name ?? '';
    const named =
      path !== '' &&
      (name === path || (name.startsWith(`${path}#`) && /^\d+$/.test(name.slice(path.length + 1))));
    return { path, named };
  }
  // A module seen again (a shared activation, a repeated op) is numbered.
  const path = taken.claim(modulePathFromName(node.name ?? '') || (node.opType ?? 'node').toLowerCase());
  return { path, named: true };
}

/** The opset of the default ONNX domain, checked against what this importer reads. */
function defaultOpset(model: DecodedModel, source: string): number {
  let opset = 0;
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? '';
    if (domain === '' || domain === 'ai.onnx') opset = Number(o.version);
  }
  if (opset === 0) throw new OnnxImportError(`${source}: no opset of the default ONNX domain is declared`);
  if (opset < IMPORT_OPSETS[0] || opset > IMPORT_OPSETS[1])
    throw new OnnxImportError(
      `${source}: opset ${opset} is outside the opsets ${IMPORT_OPSETS.join(' to ')} this importer reads`,
    );
  return opset;
}

/** The graph's data inputs (float32 tensors) as builder inputs, at their declared or given shapes. */
function declareInputs(
  b: GraphBuilder,
  dataInputs: readonly ValueInfoProto[],
  options: OnnxImportOptions,
  source: string,
): Map<string, SymbolicTensor> {
  const values = new Map<string, SymbolicTensor>();
  for (const [k, inp] of dataInputs.entries()) {
    const name = inp.name ?? `input_${k}`;
    const tt = inp.type?.tensorType;
    if (!tt) throw new OnnxImportError(`${source}: input '${name}' is not a tensor`);
    if (tt.elemType !== onnx.TensorProto.DataType.FLOAT)
      throw new OnnxImportError(`${source}: input '${name}' is not float32`);
    const dims = tt.shape?.dim ?? [];
    const shape =
      dataInputs.length === 1 && options.inputShape
        ? options.inputShape
        : dims.map((d, i) => {
            if (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0)
              return Number(d.dimValue);
            if (i === 0) return options.batch ?? 1;
            throw new OnnxImportError(
              `${source}: input '${name}' has a symbolic dimension ${i} ('${d.dimParam ?? '?'}'): give the input's shape`,
            );
          });
    values.set(name, b.input(name, shape));
  }
  return values;
}

/** Every input a node reads is known by now; else a cycle (produced later) or a missing tensor. */
function checkNodeInputs(
  node: NodeProto,
  at: number,
  known: (name: string) => boolean,
  producedBy: ReadonlyMap<string, number>,
  source: string,
): void {
  for (const inp of node.input ?? []) {
    if (!inp || known(inp)) continue;
    const later = producedBy.get(inp);
    throw new OnnxImportError(
      later !== undefined && later >= at
        ? `${source}: node '${node.name}' (${node.opType}) reads '${inp}' before it is produced: the graph has a cycle or is not in topological order`
        : `${source}: node '${node.name}' (${node.opType}) reads '${inp}', which no node, input or initializer provides`,
    );
  }
}
