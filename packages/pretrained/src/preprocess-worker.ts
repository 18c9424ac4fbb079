// A worker of the preprocessing pool (see preprocess-pool.ts): decodes one image file and runs
// the model's transform, and sends back the [C, H, W] float32 values (transferred, not copied).
import { parentPort } from 'node:worker_threads';
import { CardinalError, type PreprocessConfig, preprocessImages } from '@cardinal/core';
import sharp from 'sharp';
import { decodeImage } from './images.js';

export interface PreprocessRequest {
  id: number;
  file: string;
  cfg: PreprocessConfig;
}

export type PreprocessReply =
  | { id: number; data: Float32Array }
  | { id: number; error: { code?: string; message: string } };

// Each worker decodes one image at a time, so libvips' own threads and its operation cache
// only add work (measured: 4.2 ms per 640x480 JPEG instead of 7.7).
sharp.concurrency(1);
sharp.cache(false);

parentPort?.on('message', async ({ id, file, cfg }: PreprocessRequest) => {
  try {
    const { data } = preprocessImages([await decodeImage(file)], cfg);
    parentPort!.postMessage({ id, data } satisfies PreprocessReply, [data.buffer as ArrayBuffer]);
  } catch (e) {
    const code = e instanceof CardinalError ? e.code : undefined;
    parentPort!.postMessage({ id, error: { code, message: (e as Error).message } } satisfies PreprocessReply);
  }
});
