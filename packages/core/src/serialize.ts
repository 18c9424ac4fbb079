import { z } from 'zod';
import { formatIssues } from './config/parse.js';
import { checkGraphCost } from './cost.js';
import { GraphError, printable } from './errors.js';
import { jsonTooDeep } from './io/json-depth.js';
import type { Graph } from './ir/graph.js';
import { OP_NAMES } from './ops/registry.js';
import { validateGraph } from './passes/validate.js';

export const GRAPH_FORMAT = 'cardinal.graph';
export const GRAPH_FORMAT_VERSION = 1;

const dim = z.number().int().nonnegative();
const tensorSpec = z.strictObject({ name: z.string(), shape: z.array(dim), dtype: z.literal('float32') });
const attrValue = z.union([z.number(), z.boolean(), z.string(), z.array(z.number())]);
const paramInit = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('kaimingNormalFanOut') }),
  z.strictObject({ kind: z.literal('uniformFanIn'), fanIn: z.number().positive() }),
  z.strictObject({ kind: z.literal('constant'), value: z.number() }),
]);

const graphSchema = z.strictObject({
  name: z.string(),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(z.string()).min(1),
  nodes: z.array(
    z.strictObject({
      name: z.string(),
      op: z.enum(OP_NAMES as [string, ...string[]]),
      path: z.string(),
      inputs: z.array(z.string()),
      outputs: z.array(z.string()).min(1),
      attrs: z.record(z.string(), attrValue),
      params: z.record(z.string(), z.string()),
    }),
  ),
  params: z.record(
    z.string(),
    z.strictObject({
      shape: z.array(dim),
      dtype: z.enum(['float32', 'int64']),
      kind: z.enum(['parameter', 'buffer']),
      init: paramInit,
    }),
  ),
  tensors: z.record(z.string(), tensorSpec),
});

const documentSchema = z.strictObject({
  format: z.literal(GRAPH_FORMAT),
  version: z.number().int(),
  graph: z.unknown(),
});

export interface GraphDocument {
  format: typeof GRAPH_FORMAT;
  version: number;
  graph: Graph;
}

/** The graph as a versioned JSON document. */
export function graphToDocument(graph: Graph): GraphDocument {
  return { format: GRAPH_FORMAT, version: GRAPH_FORMAT_VERSION, graph: structuredClone(graph) };
}

export function serializeGraph(graph: Graph): string {
  return JSON.stringify(graphToDocument(graph));
}

/** Reads a graph document, checks its format and version, and validates the graph. */
export function graphFromDocument(value: unknown, source = 'graph'): Graph {
  const doc = documentSchema.safeParse(value);
  if (!doc.success)
    throw new GraphError(formatIssues(`${source}: not a ${GRAPH_FORMAT} document`, doc.error));
  if (doc.data.version !== GRAPH_FORMAT_VERSION) {
    throw new GraphError(
      `${source}: unsupported ${GRAPH_FORMAT} version ${doc.data.version} (this build reads version ${GRAPH_FORMAT_VERSION})`,
    );
  }
  const g = graphSchema.safeParse(doc.data.graph);
  if (!g.success) throw new GraphError(formatIssues(`${source}: invalid graph`, g.error));
  const graph = validateGraph(g.data as Graph);
  checkGraphCost(graph);
  return graph;
}

export function parseGraph(text: string, source = 'graph'): Graph {
  let value: unknown;
  const deep = jsonTooDeep(text);
  if (deep) throw new GraphError(`${source}: ${deep}`);
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new GraphError(`${source}: not valid JSON (${printable((e as Error).message)})`);
  }
  return graphFromDocument(value, source);
}
