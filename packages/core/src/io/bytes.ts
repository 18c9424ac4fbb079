/**
 * Copies bytes into a fresh, aligned ArrayBuffer. Node's Buffer.slice returns a view into a
 * shared pool, so `.slice().buffer` is not safe on Buffers; this is.
 */
export function copyToArrayBuffer(bytes: Uint8Array, start = 0, end = bytes.byteLength): ArrayBuffer {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out.buffer;
}
