import type { Graph, GraphNode } from '@cardinal/core';
import type { EpilogueStep } from '../codegen/epilogue.js';

/**
 * A node that starts a kernel and the element-wise nodes folded into its epilogue. The
 * kernel runs where the last absorbed node stood, so a fused operand (a shortcut computed
 * after the conv, as timm's downsample is) is ready by then.
 */
export interface FusedGroup {
  head: GraphNode;
  steps: EpilogueStep[];
  /** Tensors read by the epilogue, by operand index. */
  operands: string[];
  /** The tensor the group writes: the output of its last node. */
  output: string;
  /** Index in graph.nodes where the kernel runs. */
  at: number;
}

const ACTIVATIONS = new Set(['relu', 'sigmoid']);
const BINARY = new Set(['add', 'mul']);

export interface FuseRules {
  /** Whether `head`'s kernel can take an epilogue at all. */
  accepts(head: GraphNode): boolean;
  /** Whether `head` may take an operand of `shape` against its output of `outShape`. */
  operandIndex(
    head: GraphNode,
    shape: readonly number[],
    outShape: readonly number[],
  ): 'full' | 'channel' | undefined;
  /** Most operands the head's kernel can bind (storage-buffer limit). */
  maxOperands(head: GraphNode): number;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Greedy epilogue fusion: from each kernel-starting node, absorb the chain of activations and
 * binary ops that are the sole consumers of the running value, keep its shape, and take
 * their other input from a tensor that exists by then.
 */
export function fuseEpilogues(graph: Graph, rules: FuseRules): FusedGroup[] {
  const consumers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const t of n.inputs) consumers.set(t, [...(consumers.get(t) ?? []), n]);
  const outputs = new Set(graph.outputs);
  const index = new Map(graph.nodes.map((n, i) => [n, i] as const));
  const absorbed = new Set<GraphNode>();
  const groups: FusedGroup[] = [];
  for (const head of graph.nodes) {
    if (absorbed.has(head)) continue;
    const group: FusedGroup = {
      head,
      steps: [],
      operands: [],
      output: head.outputs[0]!,
      at: index.get(head)!,
    };
    if (head.outputs.length === 1 && rules.accepts(head)) {
      const outShape = graph.tensors[group.output]!.shape;
      for (;;) {
        const cs = consumers.get(group.output) ?? [];
        if (cs.length !== 1 || outputs.has(group.output)) break;
        const next = cs[0]!;
        if (absorbed.has(next)) break;
        const nextShape = graph.tensors[next.outputs[0]!]!.shape;
        if (!sameShape(nextShape, outShape)) break;
        if (ACTIVATIONS.has(next.op)) {
          group.steps.push({ op: next.op as 'relu' | 'sigmoid' });
        } else if (BINARY.has(next.op) && next.inputs.length === 2 && next.inputs[0] !== next.inputs[1]) {
          const other = next.inputs[0] === group.output ? next.inputs[1]! : next.inputs[0]!;
          // `other` precedes `next` in topological order, so it exists where the kernel runs.
          const idx = rules.operandIndex(head, graph.tensors[other]!.shape, outShape);
          if (!idx || group.operands.length >= rules.maxOperands(head)) break;
          group.steps.push({ op: next.op as 'add' | 'mul', operand: group.operands.length, index: idx });
          group.operands.push(other);
        } else break;
        absorbed.add(next);
        group.output = next.outputs[0]!;
        group.at = index.get(next)!;
      }
    }
    groups.push(group);
  }
  return groups.sort((a, b) => a.at - b.at);
}
