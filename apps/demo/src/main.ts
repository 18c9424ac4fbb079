import { type ClassScore, classify, InputError, randomNormal, type Tensor, zooNames } from '@cardinal/core';
import { renderLatencyChart } from './chart.js';
import { renderDiagram } from './diagram.js';
import { $, escapeHtml } from './dom.js';
import { dropZone } from './drop.js';
import type { FashionResult } from './fashion.js';
import { setUpFashionPanel } from './fashion-panel.js';
import { renderFeatures, runFeatures, type ShownFeature } from './features.js';
import { type FineTuneState, setUpFineTunePanel } from './fine-tune-panel.js';
import { decodeFile, drawCrop, drawSample, imageToTensor } from './image.js';
import { type LoadedModel, loadModel, type ModelChoice } from './model.js';
import { type Outline, outline } from './outline.js';
import { ortWasmRunner, type Runner, webgpuReason, webgpuRunner } from './runners.js';

const modelSelect = $<HTMLSelectElement>('model');
const sizeInput = $<HTMLInputElement>('size');
const seedInput = $<HTMLInputElement>('seed');
const inputKind = $<HTMLSelectElement>('input-kind');
const inputSeed = $<HTMLInputElement>('input-seed');
const preview = $<HTMLCanvasElement>('preview');
const message = $<HTMLParagraphElement>('message');
const runButton = $<HTMLButtonElement>('run');
const compareButton = $<HTMLButtonElement>('compare');
const featuresButton = $<HTMLButtonElement>('features');

/** What the end-to-end test reads: the logits shown, the backend, the block count. */
interface DemoState {
  lastLogits: number[];
  /** The top classes shown, with their softmax probabilities. */
  lastTop: ClassScore[];
  /** [height, width] of the crop the model saw. */
  lastCrop: number[];
  backend: string;
  blockCount: number;
  runs: number;
  lastCompareMaxAbsDiff?: number;
  /** The Fashion-MNIST panel's last result. */
  fashion?: FashionResult;
  /** The fine-tuning panel's run, step by step. */
  fineTune?: FineTuneState;
  /** The feature maps last shown (timm's features_only outputs). */
  features?: ShownFeature[];
}
declare global {
  interface Window {
    cardinalDemo: DemoState;
  }
}
const state: DemoState = { lastLogits: [], lastTop: [], lastCrop: [], backend: '', blockCount: 0, runs: 0 };
window.cardinalDemo = state;

for (const name of zooNames())
  modelSelect.add(new Option(name, name, name === 'resnext50_32x4d', name === 'resnext50_32x4d'));

let configJson: ModelChoice['configJson'];
let weightsFile: ModelChoice['weightsFile'];
let onnxFile: ModelChoice['onnxFile'];
let droppedImage: ImageBitmap | undefined;
let model: LoadedModel | undefined;
let modelKey = '';
let runner: Runner | undefined;
let fallback: Runner | undefined;
let diagram: Outline | undefined;
const expanded = new Set<string>();
const latencies: number[] = [];

/** One style for every count in the summary: 9.41K, 1.2M, 4.23B. */
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });
const fmt = (n: number) => compact.format(n);

const MIN_SIZE = 32;
const MAX_SIZE = 512;

/** The input size typed in the field; out of range or not a whole number is an error, never clamped. */
function chosenSize(): number {
  const size = Number(sizeInput.value);
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE)
    throw new InputError(
      `input size must be a whole number from ${MIN_SIZE} to ${MAX_SIZE}, got '${sizeInput.value}'`,
    );
  return size;
}

/** Clears what the previous model (or the previous mistake) left on screen. */
function clearResults(): void {
  message.textContent = '';
  $('top5').innerHTML = '';
  $('random-weights').hidden = true;
  $('latency').textContent = '';
  $('compare-result').textContent = '';
  $('feature-maps').innerHTML = '';
  $('chart').innerHTML = '';
  state.lastLogits = [];
  state.lastTop = [];
  delete state.lastCompareMaxAbsDiff;
}

function choice(): ModelChoice {
  return {
    zooName: modelSelect.value,
    size: chosenSize(),
    seed: Number(seedInput.value) || 0,
    configJson,
    weightsFile,
    onnxFile,
  };
}

function showSummary(m: LoadedModel): void {
  const rows = m.stages
    .map((s) => `<tr><td>${s.stage}</td><td>${fmt(s.params)}</td><td>${fmt(s.macs)}</td></tr>`)
    .join('');
  $('summary').innerHTML =
    `<thead><tr><th>stage</th><th>params</th><th>MACs</th></tr></thead><tbody>${rows}<tr><th>total</th><th>${fmt(m.params)}</th><th>${fmt(m.macs)}</th></tr></tbody>`;
}

async function drawDiagram(): Promise<void> {
  if (!diagram) return;
  const host = $('diagram');
  await renderDiagram(host, diagram, expanded, (id) => {
    if (expanded.has(id)) expanded.delete(id);
    else expanded.add(id);
    void drawDiagram();
  });
  host.dataset.blockCount = String(diagram.blocks.length);
  state.blockCount = diagram.blocks.length;
}

/** Builds the chosen model, its summary and diagram; compiles it on first run. */
async function ensureModel(): Promise<LoadedModel> {
  const c = choice();
  const key = JSON.stringify({
    ...c,
    configJson: c.configJson?.text,
    weightsFile: c.weightsFile?.name,
    onnxFile: c.onnxFile && `${c.onnxFile.name}:${c.onnxFile.bytes.length}`,
  });
  if (model && key === modelKey) return model;
  clearResults();
  runner?.dispose();
  fallback?.dispose();
  runner = undefined;
  fallback = undefined;
  latencies.length = 0;
  model = loadModel(c);
  modelKey = key;
  showSummary(model);
  diagram = outline(model.graph);
  expanded.clear();
  await drawDiagram();
  return model;
}

async function primaryRunner(m: LoadedModel): Promise<Runner> {
  if (runner) return runner;
  const reason = await webgpuReason();
  if (reason) {
    message.textContent = `WebGPU is not available (${reason}); running on onnxruntime-web's wasm backend instead.`;
    runner = await ortWasmRunner(m.graph, m.weights);
  } else runner = await webgpuRunner(m.graph, m.weights);
  state.backend = runner.name;
  $('adapter').textContent = `backend: ${runner.name} — ${runner.device}`;
  return runner;
}

/** The input of the chosen source through the model's transform; shows the crop the model sees. */
function currentInput(m: LoadedModel | undefined): Tensor | undefined {
  const kind = inputKind.value;
  const ctx = preview.getContext('2d')!;
  const crop = $<HTMLCanvasElement>('crop');
  // A model whose input is not an image batch (an imported .onnx) takes a random tensor of its shape.
  if (kind === 'random' || (m && !m.imageInput)) {
    ctx.fillStyle = '#ccc';
    ctx.fillRect(0, 0, preview.width, preview.height);
    crop.width = 0;
    if (!m) return undefined;
    if (kind !== 'random')
      $('crop-caption').textContent =
        `the model's input [${m.graph.inputs[0]!.shape.join(', ')}] is not an image: a random tensor of that shape`;
    return randomNormal([...m.graph.inputs[0]!.shape], Number(inputSeed.value) || 0);
  }
  const source = kind === 'dropped' && droppedImage ? droppedImage : drawSample(kind.slice(7) || 'sunset');
  ctx.clearRect(0, 0, preview.width, preview.height);
  const scale = Math.min(preview.width / source.width, preview.height / source.height);
  ctx.drawImage(source, 0, 0, source.width * scale, source.height * scale);
  if (!m) return undefined;
  const x = imageToTensor(source, m.preprocess);
  drawCrop(crop, x, m.preprocess);
  state.lastCrop = [x.shape[2]!, x.shape[3]!];
  $('crop-caption').textContent =
    `what the model sees: ${x.shape[3]}x${x.shape[2]}, ${m.preprocess.interpolation}, crop ${m.preprocess.cropPct}`;
  return x;
}

const RANDOM_WEIGHTS_DEMO =
  'RANDOM WEIGHTS: these classes mean nothing. This model has no trained weights: choose a weights ' +
  'file (a torchvision .pth or a timm safetensors file) above, or try the Fashion-MNIST panel, ' +
  'whose fashion_resnext weights Cardinal trained.';

function showTop5(logits: Float32Array, m: LoadedModel): void {
  const top = classify(
    { shape: [1, logits.length], data: logits },
    { top: 5, ...(m.labels ? { labels: m.labels } : {}) },
  )[0]!;
  state.lastTop = top;
  // No trained weights: the classes below are noise, and the panel says so above them.
  const banner = $('random-weights');
  banner.hidden = !m.randomWeights;
  banner.textContent = m.randomWeights ? RANDOM_WEIGHTS_DEMO : '';
  $('top5').innerHTML = top
    .map(
      (t) =>
        `<li>${escapeHtml(t.label)} <small>(${(t.prob * 100).toFixed(1)}%, logit ${t.logit.toFixed(3)})</small></li>`,
    )
    .join('');
}

async function busy<T>(work: () => Promise<T>): Promise<T | undefined> {
  runButton.disabled = true;
  compareButton.disabled = true;
  featuresButton.disabled = true;
  try {
    return await work();
  } catch (e) {
    // A failed load leaves no stale results of the model before it on screen.
    clearResults();
    message.textContent = (e as Error).message;
    return undefined;
  } finally {
    runButton.disabled = false;
    compareButton.disabled = false;
    featuresButton.disabled = false;
  }
}

runButton.addEventListener('click', () =>
  busy(async () => {
    const m = await ensureModel();
    const r = await primaryRunner(m);
    const x = currentInput(m)!;
    const t0 = performance.now();
    const logits = await r.run(x);
    const ms = performance.now() - t0;
    latencies.push(ms);
    state.lastLogits = Array.from(logits);
    state.runs += 1;
    showTop5(logits, m);
    renderLatencyChart($('chart'), latencies);
    $('latency').textContent = `last run ${ms.toFixed(1)} ms; ${m.source}`;
  }),
);

compareButton.addEventListener('click', () =>
  busy(async () => {
    const m = await ensureModel();
    const r = await primaryRunner(m);
    fallback ??=
      r.name === 'webgpu' ? await ortWasmRunner(m.graph, m.weights) : await webgpuRunner(m.graph, m.weights);
    const x = currentInput(m)!;
    const [a, b] = [await r.run(x), await fallback.run(x)];
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    state.lastCompareMaxAbsDiff = d;
    $('compare-result').textContent =
      `${r.name} vs ${fallback.name}: max |difference| of the logits ${d.toExponential(2)}`;
  }),
);

// timm's features_only model of the loaded ResNet on the same input: every map, with feature_info.
featuresButton.addEventListener('click', () =>
  busy(async () => {
    const m = await ensureModel();
    if (!m.features)
      throw new InputError(
        'feature maps come from a ResNet (a zoo model or a config), not an imported .onnx file',
      );
    const r = await primaryRunner(m);
    const f = m.features();
    const maps = await runFeatures(f, currentInput(m)!, r.name === 'webgpu');
    state.features = renderFeatures($('feature-maps'), f, maps);
  }),
);

const configInput = $<HTMLInputElement>('config-file');
// Picking a zoo model replaces a loaded config file: the picker is never ignored.
modelSelect.addEventListener('change', () => {
  configJson = undefined;
  onnxFile = undefined;
  configInput.value = '';
  void busy(ensureModel);
});
for (const el of [sizeInput, seedInput]) el.addEventListener('change', () => void busy(ensureModel));

configInput.addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  configJson = f ? { name: f.name, text: await f.text() } : undefined;
  onnxFile = undefined;
  await busy(ensureModel);
});
$<HTMLInputElement>('weights-file').addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  weightsFile = f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : undefined;
  onnxFile = undefined;
  await busy(ensureModel);
});

const isModelFile = (f: File) => /\.(json|safetensors|pth|pt|bin|onnx)$/i.test(f.name);

/**
 * A model folder's files picked or dropped together: the .json is the config, the other the
 * weights. An .onnx file is a whole model (graph and weights) on its own.
 */
async function useModelFiles(files: File[]): Promise<void> {
  const onnx = files.find((f) => /\.onnx$/i.test(f.name));
  if (onnx) {
    onnxFile = { name: onnx.name, bytes: new Uint8Array(await onnx.arrayBuffer()) };
    await busy(ensureModel);
    if (model) currentInput(model);
    return;
  }
  onnxFile = undefined;
  const config = files.find((f) => /\.json$/i.test(f.name));
  const weights = files.find((f) => !/\.json$/i.test(f.name));
  if (config) configJson = { name: config.name, text: await config.text() };
  if (weights) weightsFile = { name: weights.name, bytes: new Uint8Array(await weights.arrayBuffer()) };
  await busy(ensureModel);
  if (model) currentInput(model);
}

async function useImage(f: File): Promise<void> {
  try {
    droppedImage = await decodeFile(f);
  } catch {
    message.textContent = `${f.name}: cannot decode image`;
    return;
  }
  const label = `dropped: ${f.name}`;
  const existing = [...inputKind.options].find((o) => o.value === 'dropped');
  if (existing) existing.text = label;
  else inputKind.add(new Option(label, 'dropped'));
  inputKind.value = 'dropped';
  currentInput(model);
}

$<HTMLInputElement>('model-files').addEventListener('change', async (ev) => {
  const files = [...((ev.target as HTMLInputElement).files ?? [])];
  if (files.length) await useModelFiles(files);
});
$<HTMLInputElement>('onnx-file').addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) await useModelFiles([f]);
});
$<HTMLInputElement>('image-file').addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) await useImage(f);
});

dropZone($('drop'), async (files) => {
  const modelFiles = files.filter(isModelFile);
  if (modelFiles.length) await useModelFiles(modelFiles);
  const image = files.find((f) => !isModelFile(f));
  if (image) await useImage(image);
});
inputKind.addEventListener('change', () => currentInput(model));

setUpFashionPanel((r) => {
  state.fashion = r;
});
setUpFineTunePanel((s) => {
  state.fineTune = s;
});
await busy(ensureModel);
currentInput(model);
document.body.dataset.ready = 'true';
