import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CardinalError,
  type CardinalErrorCode,
  FileError,
  ImageError,
  InternalError,
  type PreprocessConfig,
  preprocessImages,
  type Tensor,
} from '@cardinal/core';
import { decodeImage } from './images.js';
import type { PreprocessReply, PreprocessRequest } from './preprocess-worker.js';

/** Turns a worker's error back into the error the main thread would have thrown. */
function rethrow(error: { code?: string; message: string }): never {
  if (error.code === 'E_FILE') throw new FileError(error.message);
  if (error.code === 'E_IMAGE') throw new ImageError(error.message);
  if (error.code) throw new CardinalError(error.code as CardinalErrorCode, error.message);
  throw new InternalError(`image worker: ${error.message}`);
}

/** The built worker script: beside this file in dist/, or dist/ beside src/ when run from sources. */
function workerScript(): string | undefined {
  for (const rel of ['./preprocess-worker.js', '../dist/preprocess-worker.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Decodes and transforms image files on every core: a pool of worker threads, each running
 * sharp's decoder and core's torchvision-exact transform on one file at a time. On a CPU that
 * also runs the model this is what keeps preprocessing cheap: the work of a batch is spread over
 * all cores between the model's runs instead of holding one of them during a run. Without the
 * built worker (sources only) it runs on the main thread.
 */
export class PreprocessPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (d: Float32Array) => void; reject: (e: unknown) => void }
  >();
  private nextId = 0;
  private turn = 0;

  constructor(size = Math.min(availableParallelism(), 8)) {
    const script = workerScript();
    if (!script || size < 2) return;
    for (let i = 0; i < size; i++) {
      // No inherited flags: a test runner's `--conditions source` would point the built worker at
      // TypeScript sources it cannot load.
      const w = new Worker(script, { execArgv: [] });
      w.on('message', (reply: PreprocessReply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        if ('error' in reply) {
          try {
            rethrow(reply.error);
          } catch (e) {
            p.reject(e);
          }
        } else p.resolve(reply.data);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      // Idle workers do not keep the process alive; busy ones do (see one()).
      w.unref();
      this.workers.push(w);
    }
  }

  private one(file: string, cfg: PreprocessConfig): Promise<Float32Array> {
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    if (this.pending.size === 0) for (const x of this.workers) x.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, file, cfg } satisfies PreprocessRequest);
    });
  }

  /** The [N, C, H, W] batch of the files, in order. */
  async batch(files: readonly string[], cfg: PreprocessConfig): Promise<Tensor> {
    const [h, w] = cfg.inputSize;
    const shape = [files.length, cfg.channels, h, w];
    if (this.workers.length === 0) return preprocessImages(await Promise.all(files.map(decodeImage)), cfg);
    const plain = { ...cfg, inputSize: [h, w], mean: [...cfg.mean], std: [...cfg.std] } as PreprocessConfig;
    const parts = await Promise.all(files.map((f) => this.one(f, plain)));
    const size = cfg.channels * h * w;
    const data = new Float32Array(files.length * size);
    for (const [i, p] of parts.entries()) data.set(p, i * size);
    return { shape, data };
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
