import type { ExecutionProvider, OrtModule, SessionOptions } from './runtime.js';
import { createSession } from './runtime.js';

/** A tensor crossing to or from a session: by name, plain dims and float32 data. */
export interface Feed {
  name: string;
  dims: number[];
  data: Float32Array;
}

/**
 * A session, in this thread or in a worker (worker-session.ts): one shape for both, so the
 * compiled model over it is written once.
 */
export interface FeedSession {
  provider: ExecutionProvider;
  fallbackReason?: string;
  version: string;
  where: 'caller' | 'worker';
  run(feeds: Feed[]): Promise<Feed[]>;
  close(): void;
}

/** A session on the calling thread: onnxruntime-node blocks it for each run. */
export async function createLocalSession(
  ort: OrtModule,
  model: Uint8Array,
  options: SessionOptions,
): Promise<FeedSession> {
  const { session, provider, fallbackReason } = await createSession(ort, model, options);
  return {
    provider,
    ...(fallbackReason ? { fallbackReason } : {}),
    version: ort.env.versions?.common ?? '',
    where: 'caller',
    async run(feeds) {
      const inputs: Record<string, InstanceType<OrtModule['Tensor']>> = {};
      for (const f of feeds) {
        // onnxruntime-node refuses shared memory (SharedArrayBuffer): such an input is copied.
        const data = f.data.buffer instanceof SharedArrayBuffer ? new Float32Array(f.data) : f.data;
        inputs[f.name] = new ort.Tensor('float32', data, f.dims);
      }
      const results = await session.run(inputs);
      return Object.entries(results).map(([name, r]) => {
        const out = { name, dims: [...r.dims], data: Float32Array.from(r.data as Float32Array) };
        r.dispose();
        return out;
      });
    },
    close() {
      void session.release();
    },
  };
}
