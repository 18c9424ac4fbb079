import {
  type Backend,
  type ClassScore,
  type CompileOptions,
  classify,
  type Graph,
  InputError,
  type PreprocessConfig,
  type Tensor,
  type WeightMap,
  withFeatureOutput,
} from '@cardinal/core';
import { PreprocessPool } from './preprocess-pool.js';

export interface ClassifierOptions {
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
  /**
   * Decode the next batch while the backend runs this one. Right when the model runs elsewhere
   * (a GPU): the CPU is free. No gain on a CPU backend that uses every core: the model's runs
   * slow down by as much as the overlap saves (measured on 2 cores). Default: on when the
   * compiled model says it runs on a GPU (CUDA, WebGPU), off otherwise.
   */
  overlap?: boolean;
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
   * Seconds classifying (decoding, preprocessing, the backend, the ranking: images / `classify`
   * is the throughput), and of that in the backend's runs alone; classifyFiles adds compiling.
   */
  seconds: { compile: number; classify: number; backend: number };
}

/** A model compiled once on a backend, that classifies image files as often as asked. */
export interface ImageClassifier {
  classify(files: readonly string[]): Promise<ClassifyFilesResult>;
  /** What runs it (the backend's description). */
  describe(): string;
  dispose(): void;
}

/**
 * Compiles a model for classifying image files: each decoded as PIL would (sharp), transformed
 * as torchvision's Resize/CenterCrop/ToTensor/Normalize with the model's pretrained_cfg, run in
 * batches on the backend, and ranked by softmax probability.
 */
export async function createClassifier(
  model: { graph: Graph; weights: WeightMap },
  backend: Backend,
  options: ClassifierOptions,
): Promise<ImageClassifier> {
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new InputError(`classify: batch size must be a positive integer, got ${batchSize}`);
  const { graph, features } = options.features
    ? withFeatureOutput(model.graph)
    : { graph: model.graph, features: undefined };
  const exe = await backend.compile(graph, model.weights, options.compile);
  const input = graph.inputs[0]!.name;
  const logitsName = graph.outputs[0]!;
  const overlap = options.overlap ?? exe.device.kind === 'gpu';
  const pool = new PreprocessPool();
  const decodeBatch = (files: readonly string[], cfg: PreprocessConfig) => pool.batch(files, cfg);

  async function classifyBatches(files: readonly string[]): Promise<ClassifyFilesResult> {
    if (files.length === 0) throw new InputError('classify: no images given');
    const t1 = performance.now();
    const results: ImageClassification[] = [];
    const featureRows: Float32Array[] = [];
    let backendMs = 0;
    const batches: (readonly string[])[] = [];
    for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize));
    let next = decodeBatch(batches[0]!, options.preprocess);
    for (const [b, batch] of batches.entries()) {
      const x = await next;
      const tb = performance.now();
      const running = exe.run({ [input]: x });
      if (!overlap) await running.catch(() => {});
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
      seconds: { compile: 0, classify: (performance.now() - t1) / 1000, backend: backendMs / 1000 },
    };
  }

  return {
    classify: classifyBatches,
    describe: () => exe.describe(),
    dispose: () => {
      pool.close();
      exe.dispose();
    },
  };
}

/** Compiles, classifies the files once, and disposes (see createClassifier). */
export async function classifyFiles(
  files: readonly string[],
  model: { graph: Graph; weights: WeightMap },
  backend: Backend,
  options: ClassifierOptions,
): Promise<ClassifyFilesResult> {
  if (files.length === 0) throw new InputError('classify: no images given');
  const t0 = performance.now();
  const classifier = await createClassifier(model, backend, options);
  const compile = (performance.now() - t0) / 1000;
  try {
    const result = await classifier.classify(files);
    return { ...result, seconds: { ...result.seconds, compile } };
  } finally {
    classifier.dispose();
  }
}
