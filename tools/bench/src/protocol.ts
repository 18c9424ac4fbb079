import type { LatencyStats } from './stats.js';

/** What one measured subject reports: per-batch latency and the process's peak RSS. */
export interface SubjectResult {
  subject: string;
  detail: string;
  batches: { batch: number; latency: LatencyStats; imagesPerSecond: number; samples: number[] }[];
  peakRssMiB: number;
}

export interface WorkerRequest {
  kind: 'cardinal' | 'onnx-file';
  model: string;
  backend?: string;
  onnxFile?: string;
  weightsFile?: string;
  batches: number[];
  runs: number;
  warmup: number;
  threads: number;
  size: number;
}
