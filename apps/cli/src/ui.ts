import { SingleBar } from 'cli-progress';

/**
 * A borderless table for people: columns padded to their widest cell, two spaces apart. (It
 * replaced cli-table3, whose layout time grows with the square of the rows: a 20,000-layer
 * summary took 13 s.)
 */
export function table(head: string[], rows: (string | number)[][], alignRight: number[] = []): string {
  const all = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      widths
        .map((w, i) => (alignRight.includes(i) ? (r[i] ?? '').padStart(w) : (r[i] ?? '').padEnd(w)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A progress bar on stderr, shown only on a terminal so pipes and --json stay clean. */
export function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} nodes | {duration_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
