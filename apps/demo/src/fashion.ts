// Fashion-MNIST mode: the shipped fashion_resnext weights classify one of the 10,000 real test
// images (or a dropped picture), with the probability of every class next to the true label.
import {
  createModel,
  FetchError,
  type Graph,
  getZooEntry,
  type Image8,
  idxImagesAndLabels,
  loadSafetensorsWeights,
  type PreprocessConfig,
  parseSafetensorsHeader,
  preprocessImages,
  readIdx,
  resolvePreprocess,
  SafetensorsError,
  storedClasses,
  storedNormalisation,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import { pixelsOf } from './image.js';
import { ortWasmRunner, type Runner, webgpuReason, webgpuRunner } from './runners.js';

export const FASHION_MODEL = 'fashion_resnext';

/** Where the dev server serves the weights and the test split (vite.config.ts). */
export const FASHION_URLS = {
  weights: '/fashion/weights.safetensors',
  images: '/fashion/t10k-images-idx3-ubyte.gz',
  labels: '/fashion/t10k-labels-idx1-ubyte.gz',
};

export interface FashionModel {
  graph: Graph;
  weights: WeightMap;
  classes: string[];
  /** The transform the weights were made with (core's resolvePreprocess: their stored normalisation, whole images). */
  preprocess: PreprocessConfig;
  mean: number;
  std: number;
  runner: Runner;
}

export interface FashionTestSet {
  /** [N, 28, 28] bytes, white on black as published. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** What the page shows for one image, and what the end-to-end test reads. */
export interface FashionResult {
  /** The test image's index, or -1 for a dropped picture. */
  index: number;
  /** The true class name (test images only). */
  truth?: string;
  predicted: string;
  probs: number[];
}

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new FetchError(`${what} (${url}): HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The zoo entry's graph, its shipped weights, and the normalisation and class names stored with them. */
export async function loadFashionModel(): Promise<FashionModel> {
  const entry = getZooEntry(FASHION_MODEL);
  const bytes = await fetchBytes(FASHION_URLS.weights, `${FASHION_MODEL}'s weights`);
  const source = entry.weights?.file ?? FASHION_URLS.weights;
  const meta = parseSafetensorsHeader(bytes, source).metadata;
  const norm = storedNormalisation(meta, source);
  if (!norm) throw new SafetensorsError(`${source}: no cardinal.normalize in its metadata`);
  // The rule the CLI and the server use (openModel), for a page: the stored normalisation wins.
  const { config: preprocess } = resolvePreprocess({
    channels: 1,
    inputSize: [28, 28],
    stored: norm,
    storedIn: source,
  });
  const graph = createModel(FASHION_MODEL);
  const weights = loadSafetensorsWeights(graph, bytes, { source }).weights;
  const runner = (await webgpuReason())
    ? await ortWasmRunner(graph, weights)
    : await webgpuRunner(graph, weights);
  return {
    graph,
    weights,
    classes: storedClasses(meta) ?? [],
    preprocess,
    mean: preprocess.mean[0]!,
    std: preprocess.std[0]!,
    runner,
  };
}

/** The published test split, as the dev server serves it from Debian's dataset-fashion-mnist. */
export async function loadFashionTestSet(): Promise<FashionTestSet> {
  const [images, labels] = await Promise.all([
    fetchBytes(FASHION_URLS.images, 'the Fashion-MNIST test images').then(gunzip),
    fetchBytes(FASHION_URLS.labels, 'the Fashion-MNIST test labels').then(gunzip),
  ]);
  const sources = { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' };
  const split = idxImagesAndLabels(readIdx(images, sources.images), readIdx(labels, sources.labels), sources);
  return { images: split.images.data, labels: split.labels, count: split.labels.length };
}

/** One test image as the model's input: (pixel / 255 - mean) / std, as `cardinal train` normalised. */
export function testImageTensor(set: FashionTestSet, index: number, m: FashionModel): Tensor {
  const plane = set.images.subarray(index * 784, (index + 1) * 784);
  return { shape: [1, 1, 28, 28], data: Float32Array.from(plane, (v) => (v / 255 - m.mean) / m.std) };
}

/**
 * A picture as a Fashion-MNIST image: grayscale as PIL's convert('L'), resized to 28x28
 * (bilinear, whole image), inverted when its border is light (the data set's garments are
 * light on black), then normalised.
 */
export function pictureTensor(source: ImageBitmap | HTMLCanvasElement, m: FashionModel): Tensor {
  const img: Image8 = pixelsOf(source);
  const { width: w, height: h, channels: c, data } = img;
  let border = 0;
  let n = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (y === 0 || x === 0 || y === h - 1 || x === w - 1) {
        const i = (y * w + x) * c;
        border += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
        n++;
      }
  const inverted =
    border / n > 127 ? { ...img, data: Uint8Array.from(data, (v, i) => (i % c === 3 ? v : 255 - v)) } : img;
  return preprocessImages([inverted], m.preprocess);
}

/** Draws a [1, 1, 28, 28] input (its normalisation undone) scaled up on a canvas. */
export function drawInput(canvas: HTMLCanvasElement, x: Tensor, m: FashionModel): void {
  const small = document.createElement('canvas');
  small.width = 28;
  small.height = 28;
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(1, Math.max(0, x.data[i]! * m.std + m.mean)) * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  small.getContext('2d')!.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}
