/**
 * Shared buffers kept for reuse, by size. Request bodies and batches are the same few sizes
 * over and over; a fresh buffer of that size costs its page faults (and, freed, a collection)
 * on every request, a reused one costs nothing. At most `maxBytes` are kept idle.
 */
export class SharedBufferPool {
  private readonly idle = new Map<number, SharedArrayBuffer[]>();
  private idleBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A buffer of exactly `bytes` (contents unspecified: the caller overwrites it). */
  take(bytes: number): SharedArrayBuffer {
    const reused = this.idle.get(bytes)?.pop();
    if (!reused) return new SharedArrayBuffer(bytes);
    this.idleBytes -= bytes;
    return reused;
  }

  /** Returns a buffer no one reads or writes any more. */
  give(buffer: SharedArrayBuffer): void {
    if (this.idleBytes + buffer.byteLength > this.maxBytes) return;
    const list = this.idle.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.idle.set(buffer.byteLength, list);
    this.idleBytes += buffer.byteLength;
  }
}
