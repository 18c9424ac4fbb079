import {
  type Backend,
  type ClassScore,
  type CompileOptions,
  classify,
  type Graph,
  InputError,
  type PreprocessConfig,
  preprocessImages,
  type Tensor,
  type WeightMap,
  withFeatureOutput,
} from '@cardinal/core';
import { decodeImage } from './images.js';

export interface ClassifyFilesOptions {
  /** The evaluation transform (a folder's pretrained_cfg, or IMAGENET_DEFAULTS). */
  preprocess: PreprocessConfig;
  /** Class names; default ImageNet's for 1000 classes, else `class <index>`. */
  labels?: readonly string[];
  /** Classes per image (default 5). */
  top?: number;
  /** Images per backend call (default 16). */
  batchSize?: number;
  /** Also return the pooled pre-logits features [N, C] (embeddings). */
  features?: boolean;
  compile?: CompileOptions;
  /** Images done so far, of all. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImageClassification {
  file: string;
  top: ClassScore[];
}

export interface ClassifyFilesResult {
  results: ImageClassification[];
  /** [N, C] in the order of `results`, with `features: true`. */
  features?: Tensor;
  /**
   * Seconds: compiling the model; then classifying (decoding, preprocessing, the backend, the
   * ranking: images / `classify` is the throughput); of that, in the backend's runs alone.
   */
  seconds: { compile: number; classify: number; backend: number };
}

async function decodeBatch(files: readonly string[], cfg: PreprocessConfig): Promise<Tensor> {
  return preprocessImages(await Promise.all(files.map(decodeImage)), cfg);
}

/**
 * Classifies image files: each decoded as PIL would (sharp), transformed as torchvision's
 * Resize/CenterCrop/ToTensor/Normalize with the model's pretrained_cfg, run in batches on the
 * backend, and ranked by softmax probability. The next batch is decoded while the backend runs
 * the current one.
 */
export async function classifyFiles(
  files: readonly string[],
  model: { graph: Graph; weights: WeightMap },
  backend: Backend,
  options: ClassifyFilesOptions,
): Promise<ClassifyFilesResult> {
  if (files.length === 0) throw new InputError('classify: no images given');
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new InputError(`classify: batch size must be a positive integer, got ${batchSize}`);
  const t0 = performance.now();
  const { graph, features } = options.features
    ? withFeatureOutput(model.graph)
    : { graph: model.graph, features: undefined };
  const exe = await backend.compile(graph, model.weights, options.compile);
  const t1 = performance.now();
  const input = graph.inputs[0]!.name;
  const logitsName = graph.outputs[0]!;
  const results: ImageClassification[] = [];
  const featureRows: Float32Array[] = [];
  let backendMs = 0;
  try {
    const batches: string[][] = [];
    for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize));
    let next = decodeBatch(batches[0]!, options.preprocess);
    for (const [b, batch] of batches.entries()) {
      const x = await next;
      const tb = performance.now();
      const running = exe.run({ [input]: x });
      // Decoding overlaps the backend's run (its own threads, or the GPU).
      if (b + 1 < batches.length) {
        next = decodeBatch(batches[b + 1]!, options.preprocess);
        // Awaited next turn; a failed run before then must not leave its rejection unhandled.
        next.catch(() => {});
      }
      const out = await running;
      backendMs += performance.now() - tb;
      const scores = classify(out[logitsName]!, { top: options.top ?? 5, labels: options.labels });
      for (const [i, file] of batch.entries()) results.push({ file, top: scores[i]! });
      if (features) featureRows.push(out[features]!.data);
      options.onProgress?.(results.length, files.length);
    }
  } finally {
    exe.dispose();
  }
  let featureTensor: Tensor | undefined;
  if (features) {
    const width = graph.tensors[features]!.shape[1]!;
    const data = new Float32Array(files.length * width);
    let off = 0;
    for (const rows of featureRows) {
      data.set(rows, off);
      off += rows.length;
    }
    featureTensor = { shape: [files.length, width], data };
  }
  return {
    results,
    ...(featureTensor ? { features: featureTensor } : {}),
    seconds: {
      compile: (t1 - t0) / 1000,
      classify: (performance.now() - t1) / 1000,
      backend: backendMs / 1000,
    },
  };
}
