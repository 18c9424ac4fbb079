import * as elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkApi, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Outline, OutlineBlock } from './outline.js';

// elkjs is CommonJS: its constructor is the module's default export once bundled.
const ElkConstructor = (elkModule as unknown as { default: new () => ElkApi }).default;
const elk = new ElkConstructor();
const SVG = 'http://www.w3.org/2000/svg';

const opLabel = (b: OutlineBlock, i: number) => {
  const n = b.nodes[i]!;
  const rest = n.path.startsWith(b.id) ? n.path.slice(b.id.length + 1) : n.path;
  const extra =
    n.op === 'conv2d' ? ` ${n.attrs.kernel.join('x')}${n.attrs.groups > 1 ? ` g${n.attrs.groups}` : ''}` : '';
  return `${n.op}${extra}${rest ? ` · ${rest}` : ''}`;
};

/** The ELK graph: stages as containers of blocks; an expanded block holds its primitives. */
function toElk(o: Outline, expanded: ReadonlySet<string>): ElkNode {
  const stages = new Map<string, ElkNode>();
  const top: ElkNode[] = [];
  for (const b of o.blocks) {
    const node: ElkNode = { id: b.id, width: 190, height: 34, labels: [{ text: b.label }] };
    if (expanded.has(b.id)) {
      const tensorOwner = new Map<string, string>();
      node.children = b.nodes.map((n, i) => {
        for (const t of n.outputs) tensorOwner.set(t, `${b.id}/${i}`);
        return { id: `${b.id}/${i}`, width: 200, height: 24, labels: [{ text: opLabel(b, i) }] };
      });
      const inner: ElkExtendedEdge[] = [];
      b.nodes.forEach((n, i) => {
        for (const t of n.inputs) {
          const src = tensorOwner.get(t);
          if (src) inner.push({ id: `${src}->${b.id}/${i}:${t}`, sources: [src], targets: [`${b.id}/${i}`] });
        }
      });
      node.edges = inner;
      node.layoutOptions = { 'elk.padding': '[top=30,left=10,bottom=10,right=10]' };
      delete node.width;
      delete node.height;
    }
    if (b.stage === 'stem' || b.stage === 'head') top.push(node);
    else {
      let s = stages.get(b.stage);
      if (!s) {
        s = { id: `stage:${b.stage}`, labels: [{ text: b.stage }], children: [], edges: [] };
        s.layoutOptions = { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' };
        stages.set(b.stage, s);
        top.push(s);
      }
      s.children!.push(node);
    }
  }
  // An edge lives in the innermost container holding both ends, so its coordinates are
  // relative to that container when drawn.
  const stageOf = new Map(o.blocks.map((b) => [b.id, b.stage] as const));
  const rootEdges: ElkExtendedEdge[] = [];
  o.edges.forEach((e, i) => {
    const edge = { id: `e${i}`, sources: [e.from], targets: [e.to] };
    const s = stageOf.get(e.from);
    const container = s === stageOf.get(e.to) ? stages.get(s!) : undefined;
    if (container) container.edges!.push(edge);
    else rootEdges.push(edge);
  });
  return {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '18',
      'elk.spacing.nodeNode': '12',
    },
    children: top,
    edges: rootEdges,
  };
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * Lays the outline out with ELK (a maintained layered-graph layout, not hand placement) and
 * draws it as SVG. Clicking a block expands it into its primitives.
 */
export async function renderDiagram(
  host: HTMLElement,
  o: Outline,
  expanded: Set<string>,
  onToggle: (id: string) => void,
): Promise<void> {
  const laid = await elk.layout(toElk(o, expanded));
  const svg = el('svg', { width: laid.width ?? 0, height: laid.height ?? 0, role: 'img' });
  svg.setAttribute('aria-label', 'network architecture');
  const blockIds = new Set(o.blocks.map((b) => b.id));
  const drawEdges = (edges: ElkExtendedEdge[] | undefined, dx: number, dy: number) => {
    for (const e of edges ?? [])
      for (const s of e.sections ?? []) {
        const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
        svg.append(
          el('polyline', {
            points: pts.map((p) => `${p.x + dx},${p.y + dy}`).join(' '),
            class: 'edge',
          }),
        );
      }
  };
  const draw = (node: ElkNode, dx: number, dy: number) => {
    const x = (node.x ?? 0) + dx;
    const y = (node.y ?? 0) + dy;
    if (node.id !== 'root') {
      const isBlock = blockIds.has(node.id);
      const isStage = node.id.startsWith('stage:');
      const cls = isBlock ? 'block-node' : isStage ? 'stage-node' : 'op-node';
      const g = el('g', { class: cls, 'data-id': node.id });
      g.append(el('rect', { x, y, width: node.width ?? 0, height: node.height ?? 0, rx: 6 }));
      const text = el('text', {
        x: x + 8,
        y: y + (isBlock && !node.children ? 21 : isStage || isBlock ? 18 : 16),
      });
      text.textContent = node.labels?.[0]?.text ?? node.id;
      g.append(text);
      if (isBlock) {
        g.setAttribute('tabindex', '0');
        g.addEventListener('click', (ev) => {
          ev.stopPropagation();
          onToggle(node.id);
        });
      }
      svg.append(g);
    }
    for (const c of node.children ?? []) draw(c, x, y);
    drawEdges(node.edges, x, y);
  };
  draw(laid, 0, 0);
  host.replaceChildren(svg);
}
