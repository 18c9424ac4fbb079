import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * The process's resident memory in MiB after a full garbage collection, for repetition tests:
 * collecting first keeps the heap's own growth schedule (a major GC that runs before one
 * reading and not the other) from looking like a leak. Node only.
 */
export function settledRssMiB(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}
