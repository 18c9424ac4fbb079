// The worker of a session in its own thread (see worker-session.ts): onnxruntime-node runs a
// session synchronously on the thread that calls it, so a server or a pipeline that must keep
// its event loop free runs the session here.
import { parentPort, workerData } from 'node:worker_threads';
import { BackendUnavailableError } from '@cardinal/core';
import { createSession, loadOrt, type SessionOptions } from './runtime.js';
import type { Feed } from './session.js';

export type WorkerRequest = { id: number; feeds: Feed[] };
export type WorkerReply =
  | { id: number; outputs: Feed[] }
  | { id: number; error: string }
  | { ready: true; provider: string; fallbackReason?: string; version: string }
  | { failed: string };

// onnxruntime-node refuses shared memory: a feed shared with the caller is copied here, off its
// thread, into memory this worker keeps per input (fresh pages cost more to fault in than the
// copy). Runs are serialised below, so one run's feed is never overwritten by the next.
const scratch = new Map<string, Float32Array>();
function ownMemory(name: string, data: Float32Array): Float32Array {
  if (!(data.buffer instanceof SharedArrayBuffer)) return data;
  let own = scratch.get(name);
  if (!own || own.length < data.length) {
    own = new Float32Array(data.length);
    scratch.set(name, own);
  }
  own.set(data);
  return own.subarray(0, data.length);
}

const { model, options } = workerData as { model: Uint8Array; options: SessionOptions };
const { ort, error } = loadOrt();
const port = parentPort!;
try {
  if (!ort) throw new BackendUnavailableError(error ?? 'onnxruntime-node cannot be loaded');
  const { session, provider, fallbackReason } = await createSession(ort, model, options);
  const runOne = async ({ id, feeds }: WorkerRequest) => {
    try {
      const inputs = Object.fromEntries(
        feeds.map((f) => [f.name, new ort.Tensor('float32', ownMemory(f.name, f.data), f.dims)]),
      );
      const results = await session.run(inputs);
      const outputs: Feed[] = Object.entries(results).map(([name, t]) => ({
        name,
        dims: [...t.dims],
        data: Float32Array.from(t.data as Float32Array),
      }));
      port.postMessage(
        { id, outputs } satisfies WorkerReply,
        outputs.map((o) => o.data.buffer as ArrayBuffer),
      );
    } catch (e) {
      port.postMessage({ id, error: (e as Error).message } satisfies WorkerReply);
    }
  };
  // One run at a time, in the order asked (the session would serialise them anyway).
  let queue = Promise.resolve();
  port.on('message', (m: WorkerRequest) => {
    queue = queue.then(() => runOne(m));
  });
  port.postMessage({
    ready: true,
    provider,
    ...(fallbackReason ? { fallbackReason } : {}),
    version: ort.env.versions?.common ?? '',
  } satisfies WorkerReply);
} catch (e) {
  port.postMessage({ failed: (e as Error).message.split('\n')[0]! } satisfies WorkerReply);
}
