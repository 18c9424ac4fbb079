import type { IncomingMessage } from 'node:http';
import type { SharedBufferPool } from './buffer-pool.js';
import { RequestError } from './protocol.js';

/**
 * Reads a request body into one buffer allocated once from Content-Length (chunks are copied
 * straight in, not gathered and concatenated). A binary infer request (one with
 * `Inference-Header-Content-Length`) is placed in shared memory at an offset that makes its
 * tensor bytes 4-aligned: the tensor is then a view of the body, and reaches a backend worker
 * thread without a copy on the event loop. That memory comes from `pool` (infer requests
 * only); the caller gives it back (`releaseBody`) once nothing reads the request any more.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  pool: SharedBufferPool | undefined,
): Promise<Buffer> {
  const tooLarge = () => new RequestError(413, `body over the limit of ${limit} bytes`);
  const declared = req.headers['content-length'] === undefined ? NaN : Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  const header = Number(req.headers['inference-header-content-length']);
  let body: Buffer | undefined;
  if (Number.isSafeInteger(declared) && declared > 0) {
    const pad = Number.isSafeInteger(header) && header >= 0 ? (4 - (header % 4)) % 4 : 0;
    body =
      pool && req.headers['inference-header-content-length'] !== undefined
        ? Buffer.from(pool.take(pad + declared), pad, declared)
        : Buffer.allocUnsafe(declared);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise((resolve, reject) => {
    const stop = (e?: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onEnd);
      if (e) reject(e);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit) return stop(tooLarge());
      if (body) {
        if (received + chunk.length > body.length)
          return stop(new RequestError(400, `body longer than its Content-Length of ${body.length} bytes`));
        chunk.copy(body, received);
      } else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = (err?: Error) => {
      stop();
      if (err) return reject(new RequestError(400, `body not read: ${err.message}`));
      if (body && received !== body.length)
        return reject(
          new RequestError(400, `body of ${received} bytes, its Content-Length says ${body.length}`),
        );
      resolve(body ?? Buffer.concat(chunks, received));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
    req.resume();
  });
}

/** Gives a body's shared memory back to the pool it came from; other bodies are left to the GC. */
export function releaseBody(body: Buffer, pool: SharedBufferPool): void {
  if (body.buffer instanceof SharedArrayBuffer) pool.give(body.buffer);
}
