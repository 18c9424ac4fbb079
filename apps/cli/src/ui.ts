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
export function progressBar(
  label: string,
  unit = 'nodes',
): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
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

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** A download's progress on stderr (terminals only): bytes, total and rate, one bar per file. */
export function byteProgress(): (done: number, total: number | undefined, file: string) => void {
  if (!process.stderr.isTTY) return () => {};
  let current: { file: string; bar: SingleBar } | undefined;
  return (done, total, file) => {
    if (current?.file !== file) {
      current?.bar.stop();
      const bar = new SingleBar({
        format: `downloading ${file} [{bar}] {percentage}% | {size} | {duration_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      });
      bar.start(total ?? 0, 0, { size: mib(0) });
      current = { file, bar };
    }
    current.bar.update(done, { size: total ? `${mib(done)} of ${mib(total)}` : mib(done) });
    if (total !== undefined && done >= total) {
      current.bar.stop();
      current = undefined;
    }
  };
}
