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
