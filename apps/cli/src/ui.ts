import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';

/** A table for people (cli-table3, borderless so it pastes cleanly). */
export function table(head: string[], rows: (string | number)[][], alignRight: number[] = []): string {
  const t = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colAligns: head.map((_, i) => (alignRight.includes(i) ? 'right' : 'left')),
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
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
