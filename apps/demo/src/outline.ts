import type { Graph, GraphNode, NodeOf } from '@cardinal/core';

/** One box of the architecture picture: the stem, a residual block, or the head. */
export interface OutlineBlock {
  id: string;
  /** `stem`, `layer1`..`layerN`, or `head`: the group the block sits in. */
  stage: string;
  label: string;
  nodes: GraphNode[];
}

export interface OutlineEdge {
  from: string;
  to: string;
}

export interface Outline {
  blocks: OutlineBlock[];
  edges: OutlineEdge[];
}

const HEAD = /^(fc|global_pool|flatten|head|classifier)(\.|$)/;
const BLOCK = /^(layer\d+)\.(\d+)(\.|$)/;

/** The block a node belongs to, from its module path (timm's names). */
export function blockOf(node: GraphNode): { id: string; stage: string } {
  const path = node.path || node.name;
  const m = BLOCK.exec(path);
  if (m) return { id: `${m[1]}.${m[2]}`, stage: m[1]! };
  if (HEAD.test(path)) return { id: 'head', stage: 'head' };
  return { id: 'stem', stage: 'stem' };
}

function describeBlock(id: string, nodes: GraphNode[]): string {
  if (id === 'stem' || id === 'head') return id;
  const grouped = nodes.find((n): n is NodeOf<'conv2d'> => n.op === 'conv2d' && n.attrs.groups > 1);
  const kinds: string[] = [];
  const has = (re: RegExp) => nodes.some((n) => re.test(n.path));
  if (has(/\.se\./)) kinds.push('SE');
  if (has(/\.paths\.\d+\./) && has(/\.attn\.fc_select/))
    kinds.push(
      `SK ${new Set(nodes.filter((n) => /\.paths\.\d+\.conv$/.test(n.path)).map((n) => n.path)).size} branches`,
    );
  const radix = nodes.find(
    (n): n is NodeOf<'reshape'> => n.op === 'reshape' && n.path.endsWith('rsoftmax.view'),
  );
  if (radix) kinds.push(`split-attn r${radix.attrs.shape[2]}`);
  else if (has(/\.conv2\.fc2$/) && has(/\.conv2\.scale$/)) kinds.push('split-attn r1');
  if (grouped) kinds.push(`g${grouped.attrs.groups}`);
  return `${id}${kinds.length ? ` (${kinds.join(', ')})` : ''}`;
}

/** Blocks in graph order and the data-flow edges between them. */
export function outline(graph: Graph): Outline {
  const blocks = new Map<string, OutlineBlock>();
  const owner = new Map<string, string>();
  for (const n of graph.nodes) {
    const { id, stage } = blockOf(n);
    let b = blocks.get(id);
    if (!b) {
      b = { id, stage, label: id, nodes: [] };
      blocks.set(id, b);
    }
    b.nodes.push(n);
    for (const t of n.outputs) owner.set(t, id);
  }
  for (const b of blocks.values()) b.label = describeBlock(b.id, b.nodes);
  const edges = new Map<string, OutlineEdge>();
  for (const n of graph.nodes) {
    const to = blockOf(n).id;
    for (const t of n.inputs) {
      const from = owner.get(t);
      if (from && from !== to) edges.set(`${from}->${to}`, { from, to });
    }
  }
  return { blocks: [...blocks.values()], edges: [...edges.values()] };
}
