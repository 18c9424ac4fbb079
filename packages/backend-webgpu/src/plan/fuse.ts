import type { Graph, GraphNode, NodeBase, OpName } from '@cardinal/core';
import type { Activation, EpilogueStep } from '../codegen/epilogue.js';
import { FUSION } from '../lower/index.js';

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

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * What may fuse, per op: the one declaration. `head`: the op's kernel takes an epilogue whose
 * operands are either full-shape or per-channel ([N, C, 1, 1], the SE/attention scale)
 * (`operands: 'full-or-channel'`), or any shape the element-wise kernel broadcasts itself
 * (`'broadcast'`); the kernel binds `ownBuffers` storage buffers besides them. `step`: the op can
 * be absorbed into a head's epilogue, as an activation or as a binary op with an operand.
 */
export interface FusionRole {
  head?: { operands: 'full-or-channel' | 'broadcast'; ownBuffers: number };
  /** An activation's WGSL (or the function giving it from the node's attributes; it fuses as an epilogue step), or 'binary' (add, mul). */
  step?: Activation | ((node: NodeBase & { op: OpName }) => Activation) | 'binary';
}

/** How an epilogue of `head` would index an operand of `shape` against its output, if it can. */
function operandIndex(
  head: GraphNode,
  shape: readonly number[],
  outShape: readonly number[],
): 'full' | 'channel' | undefined {
  const role = FUSION[head.op]?.head;
  if (!role) return undefined;
  if (role.operands === 'broadcast' || sameShape(shape, outShape)) return 'full';
  const channel =
    shape.length === 4 &&
    shape[0] === outShape[0] &&
    shape[1] === outShape[1] &&
    shape[2] === 1 &&
    shape[3] === 1;
  return channel ? 'channel' : undefined;
}

/**
 * Greedy epilogue fusion: from each kernel-starting node, absorb the chain of activations and
 * binary ops that are the sole consumers of the running value, keep its shape, and take
 * their other input from a tensor that exists by then.
 */
export function fuseEpilogues(graph: Graph, maxStorageBuffersPerStage: number): FusedGroup[] {
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
    const role = FUSION[head.op]?.head;
    // Operands an epilogue may bind: what the device's storage-buffer limit leaves, at most 4.
    const maxOperands = role ? Math.max(0, Math.min(4, maxStorageBuffersPerStage - role.ownBuffers)) : 0;
    if (head.outputs.length === 1 && role) {
      const outShape = graph.tensors[group.output]!.shape;
      for (;;) {
        const cs = consumers.get(group.output) ?? [];
        if (cs.length !== 1 || outputs.has(group.output)) break;
        const next = cs[0]!;
        if (absorbed.has(next)) break;
        const nextShape = graph.tensors[next.outputs[0]!]!.shape;
        if (!sameShape(nextShape, outShape)) break;
        const declared = FUSION[next.op]?.step;
        const step = typeof declared === 'function' ? declared(next) : declared;
        if (typeof step === 'object') {
          group.steps.push({ op: 'activation', act: step });
        } else if (
          step === 'binary' &&
          (next.op === 'add' || next.op === 'mul') &&
          next.inputs.length === 2 &&
          next.inputs[0] !== next.inputs[1]
        ) {
          const other = next.inputs[0] === group.output ? next.inputs[1]! : next.inputs[0]!;
          // `other` precedes `next` in topological order, so it exists where the kernel runs.
          const idx = operandIndex(head, graph.tensors[other]!.shape, outShape);
          if (!idx || group.operands.length >= maxOperands) break;
          group.steps.push({ op: next.op, operand: group.operands.length, index: idx });
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
