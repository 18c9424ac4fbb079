const SVG = 'http://www.w3.org/2000/svg';

/** The last runs' latencies as a small bar chart (SVG), newest on the right. */
export function renderLatencyChart(host: HTMLElement, ms: readonly number[], max = 20): void {
  const values = ms.slice(-max);
  const w = 240;
  const h = 60;
  const top = Math.max(...values, 1);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('class', 'latency-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `latency of the last ${values.length} runs`);
  const bw = w / max;
  values.forEach((v, i) => {
    const r = document.createElementNS(SVG, 'rect');
    const bh = Math.max(1, (v / top) * (h - 4));
    r.setAttribute('x', String(i * bw + 1));
    r.setAttribute('y', String(h - bh));
    r.setAttribute('width', String(bw - 2));
    r.setAttribute('height', String(bh));
    const t = document.createElementNS(SVG, 'title');
    t.textContent = `${v.toFixed(1)} ms`;
    r.append(t);
    svg.append(r);
  });
  host.replaceChildren(svg);
}

/** A training curve: the loss per step as a line, its first and last values labelled. */
export function renderLossCurve(host: HTMLElement, losses: readonly number[], steps: number): void {
  const w = 320;
  const h = 120;
  const pad = 24;
  const top = Math.max(...losses, 1e-6);
  const x = (i: number) => pad + (i / Math.max(1, steps - 1)) * (w - 2 * pad);
  const y = (v: number) => h - pad - (v / top) * (h - 2 * pad);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('class', 'loss-curve');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `training loss over ${losses.length} steps`);
  const axis = document.createElementNS(SVG, 'polyline');
  axis.setAttribute('points', `${pad},${pad / 2} ${pad},${h - pad} ${w - pad / 2},${h - pad}`);
  axis.setAttribute('class', 'axis');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
  line.setAttribute('class', 'loss');
  const label = (text: string, lx: number, ly: number, anchor: string) => {
    const t = document.createElementNS(SVG, 'text');
    t.setAttribute('x', String(lx));
    t.setAttribute('y', String(ly));
    t.setAttribute('text-anchor', anchor);
    t.setAttribute('font-size', '10');
    t.setAttribute('font-family', 'sans-serif');
    t.setAttribute('fill', 'currentColor');
    t.textContent = text;
    return t;
  };
  svg.append(axis, line, label(`step ${losses.length}/${steps}`, w - pad / 2, h - 6, 'end'));
  if (losses.length > 0) {
    svg.append(label(`loss ${losses[0]!.toFixed(3)}`, pad + 4, pad / 2 + 8, 'start'));
    const last = losses.length - 1;
    svg.append(label(losses[last]!.toFixed(3), x(last), y(losses[last]!) - 6, 'end'));
  }
  host.replaceChildren(svg);
}
