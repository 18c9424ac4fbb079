import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackendUnavailableError, InternalError } from '@cardinal/core';
import type { ExecutionProvider, SessionOptions } from './runtime.js';
import type { Feed, FeedSession } from './session.js';
import type { WorkerReply } from './session-worker.js';

/** The built worker script: beside this file in dist/, or in dist/ beside src/ when run from sources. */
function workerScript(): string | undefined {
  for (const rel of ['./session-worker.js', '../dist/session-worker.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** A session in a worker thread: `run` leaves the caller's event loop free while the model runs. */
export async function createWorkerSession(model: Uint8Array, options: SessionOptions): Promise<FeedSession> {
  const script = workerScript();
  if (!script) throw new BackendUnavailableError('the session worker is not built (run the package build)');
  // No inherited flags: a test runner's `--conditions source` would point it at sources.
  const worker = new Worker(script, { workerData: { model, options }, execArgv: [] });
  const pending = new Map<number, { resolve: (o: Feed[]) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const ready = await new Promise<Extract<WorkerReply, { ready: true }>>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: WorkerReply) => {
      if ('ready' in m) resolve(m);
      else reject(new BackendUnavailableError('failed' in m ? m.failed : 'the session worker did not start'));
    });
  });
  worker.on('message', (m: WorkerReply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if ('error' in m) p.reject(new InternalError(`onnxruntime-node (worker thread): ${m.error}`));
    else p.resolve(m.outputs);
  });
  worker.on('error', (e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  worker.unref();
  return {
    provider: ready.provider as ExecutionProvider,
    ...(ready.fallbackReason ? { fallbackReason: ready.fallbackReason } : {}),
    version: ready.version,
    where: 'worker',
    run(feeds) {
      const id = nextId++;
      worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, feeds });
      });
    },
    close() {
      void worker.terminate();
    },
  };
}
