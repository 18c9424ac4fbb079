// One measured subject in its own process, so its peak RSS is its own.
import { readFileSync } from 'node:fs';
import { createModel, loadSafetensorsWeights } from '@cardinal/core';
import { loadBackend } from '@cardinal/pretrained';
import type { SubjectResult, WorkerRequest } from './protocol.js';
import { stats, timeRuns } from './stats.js';

function input(n: number, size: number): Float32Array {
  const data = new Float32Array(n * 3 * size * size);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 1073741824 - 1;
  }
  return data;
}

async function measure(req: WorkerRequest): Promise<SubjectResult> {
  const batches: SubjectResult['batches'] = [];
  if (req.kind === 'onnx-file') {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(req.onnxFile!, {
      executionProviders: ['cpu'],
      intraOpNumThreads: req.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    for (const n of req.batches) {
      const x = new ort.Tensor('float32', input(n, req.size), [n, 3, req.size, req.size]);
      const samples = await timeRuns(
        () => session.run({ [session.inputNames[0]!]: x }),
        req.warmup,
        req.runs,
      );
      const latency = stats(samples);
      batches.push({ batch: n, latency, imagesPerSecond: (n * 1000) / latency.medianMs, samples });
    }
    await session.release();
    return {
      subject: 'ort-on-torch-export',
      detail: `onnxruntime-node CPU EP, ${req.threads} threads, PyTorch's own export (opset 17)`,
      batches,
      peakRssMiB: 0,
    };
  }
  const backend = await loadBackend(req.backend!);
  let detail = '';
  for (const n of req.batches) {
    const graph = createModel(req.model, { inputShape: [n, 3, req.size, req.size] });
    const weights = loadSafetensorsWeights(graph, readFileSync(req.weightsFile!)).weights;
    const exe = await backend.compile(graph, weights, { device: 'cpu', threads: req.threads });
    detail = exe.describe();
    const x = { shape: [n, 3, req.size, req.size], data: input(n, req.size) };
    const samples = await timeRuns(() => exe.run({ input: x }), req.warmup, req.runs);
    exe.dispose();
    const latency = stats(samples);
    batches.push({ batch: n, latency, imagesPerSecond: (n * 1000) / latency.medianMs, samples });
  }
  return { subject: `cardinal-${req.backend}`, detail, batches, peakRssMiB: 0 };
}

const req = JSON.parse(process.argv[2]!) as WorkerRequest;
measure(req).then(
  (r) => {
    r.peakRssMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify(r)}\n`);
  },
  (e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  },
);
