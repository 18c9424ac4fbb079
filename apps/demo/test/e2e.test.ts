import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnxBackend } from '@cardinal/backend-onnx';
import {
  buildModel,
  buildPretrained,
  classify,
  createModel,
  getZooEntry,
  IMAGENET_DEFAULTS,
  initTestWeights,
  loadWeights,
  parsePretrainedConfig,
  parseResNetConfig,
  preprocessImages,
  pretrainedConfigJson,
  randomNormal,
  readTorchCheckpoint,
  storedNormalisation,
  type Tensor,
} from '@cardinal/core';
import {
  decodeImage,
  DEBIAN_FASHION_MNIST as FASHION_DIR,
  FASHION_MNIST_CLASSES,
  loadWeightsFile,
  readIdxFile,
  shippedWeightsFile,
  weightsMetadata,
} from '@cardinal/pretrained';
import { fixturesDir } from '@cardinal/testkit';
import { chromiumUnavailableReason, launchChromium } from '@cardinal/testkit/browser';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINE_TUNE_RUN, fineTuneHead } from '../src/fine-tune.js';

const reason = chromiumUnavailableReason();
if (reason) console.warn(`skipping the demo's end-to-end test: ${reason}`);

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch)
  console.warn("skipping the demo's .pth test: Debian python3-torch is missing (apt install python3-torch)");
const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
const fashionReason = existsSync(join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'))
  ? undefined
  : `Debian's dataset-fashion-mnist is missing (${FASHION_DIR}; apt install dataset-fashion-mnist)`;
if (fashionReason) console.warn(`skipping the demo's Fashion-MNIST test: ${fashionReason}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = fileURLToPath(new URL('./output/', import.meta.url));

// `window.cardinalDemo` is typed by src/main.ts's global declaration.

/** The same model, weights and input through backend-onnx in Node. */
async function onnxLogits(
  model: string,
  size: number,
  seed: number,
  inputSeed: number,
): Promise<Float32Array> {
  const { graph } = buildModel(model, { inputShape: [1, 3, size, size] });
  const exe = await onnxBackend.compile(graph, initTestWeights(graph, seed), {
    executionProviders: ['cpu'],
  } as object);
  try {
    const x = randomNormal([1, 3, size, size], inputSeed);
    return (await exe.run({ [graph.inputs[0]!.name]: x }))[graph.outputs[0]!]!.data;
  } finally {
    exe.dispose();
  }
}

/** The features_only model's maps on backend-onnx: the full model's seeded weights, by name. */
async function onnxFeatures(model: string, size: number, seed: number, inputSeed: number) {
  const whole = buildModel(model, { inputShape: [1, 3, size, size] });
  const f = buildModel(model, { inputShape: [1, 3, size, size], features: {} });
  const weights = new Map(
    [...initTestWeights(whole.graph, seed)].filter(([k]) => Object.hasOwn(f.graph.params, k)),
  );
  const exe = await onnxBackend.compile(f.graph, weights);
  try {
    const out = await exe.run({ [f.graph.inputs[0]!.name]: randomNormal([1, 3, size, size], inputSeed) });
    return f.graph.outputs.map((name, i) => {
      const t = out[name]!;
      const info = f.featureInfo![i]!;
      let total = 0;
      for (const v of t.data) total += v;
      return {
        module: info.module,
        channels: info.numChs,
        reduction: info.reduction,
        shape: [...t.shape],
        mean: total / t.data.length,
      };
    });
  } finally {
    exe.dispose();
  }
}

/** fashion_resnext with its shipped weights and normalisation, and the published test split. */
async function shippedFashion() {
  const file = shippedWeightsFile('fashion_resnext')!;
  const graph = createModel('fashion_resnext');
  return {
    graph,
    weights: await loadWeightsFile(graph, file),
    norm: storedNormalisation(weightsMetadata(file), file)!,
    images: readIdxFile(join(FASHION_DIR, 't10k-images-idx3-ubyte.gz')).data,
    labels: readIdxFile(join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz')).data,
  };
}

describe.skipIf(!!reason)('the demo in headless Chromium', () => {
  let server: ViteDevServer;
  let browser: Browser;
  const consoleErrors: string[] = [];

  const open = async (
    viewport: { width: number; height: number },
    b = browser,
    init?: () => void,
  ): Promise<Page> => {
    const page = await b.newPage({ viewport });
    if (init) await page.addInitScript(init);
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(server.resolvedUrls!.local[0]!);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    return page;
  };

  const runOnce = async (page: Page, model: string, size: number, seed: number, inputSeed: number) => {
    await page.selectOption('#model', model);
    await page.fill('#size', String(size));
    await page.dispatchEvent('#size', 'change');
    await page.fill('#seed', String(seed));
    await page.dispatchEvent('#seed', 'change');
    await page.selectOption('#input-kind', 'random');
    await page.fill('#input-seed', String(inputSeed));
    const before = await page.evaluate(() => window.cardinalDemo.runs);
    await page.click('#run');
    await page.waitForFunction((n) => window.cardinalDemo.runs > n, before, {
      timeout: 120_000,
    });
    return page.evaluate(() => window.cardinalDemo);
  };

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    server = await createServer({
      root,
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      logLevel: 'error',
      server: { port: 0, hmr: false },
    });
    await server.listen();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.skipIf(!!fashionReason)(
    'fine-tunes in the tab on WebGPU: the loss falls step by step, as the same run on backend-onnx in Node',
    async () => {
      const steps = 12;
      const page = await open({ width: 1280, height: 900 });
      try {
        await page.fill('#fine-tune-steps', String(steps));
        await page.click('#fine-tune-start');
        await page.waitForFunction(() => window.cardinalDemo.fineTune?.done === true, undefined, {
          timeout: 240_000,
        });
        const shown = (await page.evaluate(() => window.cardinalDemo.fineTune))!;
        expect(shown.error).toBeUndefined();
        expect(shown.runs).toMatch(/^webgpu training \(/);
        expect(shown.losses).toHaveLength(steps);
        // The same run in Node, on ONNX Runtime: the shipped weights, a fresh head, the same
        // batches in the same order.
        const { graph, weights, norm, images, labels } = await shippedFashion();
        const node = await fineTuneHead(
          onnxBackend,
          { graph, weights, mean: norm.mean[0]!, std: norm.std[0]! },
          { images, labels },
          { ...FINE_TUNE_RUN, steps, onStep: () => undefined },
        );
        const want = node.steps.map((s) => s.loss);
        console.log(
          `fine-tune: browser ${shown.losses.map((l) => l.toFixed(4)).join(' ')}; node ${want.map((l) => l.toFixed(4)).join(' ')}`,
        );
        // float32 on two runtimes, a dozen SGD steps apart: within 1e-3 relative.
        for (const [i, l] of shown.losses.entries())
          expect(Math.abs(l - want[i]!), `step ${i + 1}`).toBeLessThanOrEqual(1e-3 * Math.max(1, want[i]!));
        // A fresh head on a trained backbone: the loss falls well below chance's ln 10.
        expect(shown.losses[0]!).toBeGreaterThan(1.5);
        expect(shown.losses.at(-1)!).toBeLessThan(0.6 * shown.losses[0]!);
        await expect
          .poll(() => page.locator('#fine-tune-curve svg.loss-curve polyline.loss').count())
          .toBe(1);
        await page.locator('#fine-tune-panel').screenshot({ path: `${outDir}/demo-fine-tune.png` });
      } finally {
        await page.close();
      }
      expect(consoleErrors).toEqual([]);
    },
  );

  it('runs a zoo model on WebGPU and shows the logits backend-onnx computes in Node, within atol', async () => {
    const page = await open({ width: 1280, height: 800 });
    const [model, size, seed, inputSeed] = ['seresnext26d_32x4d', 64, 3, 11] as const;
    const shown = await runOnce(page, model, size, seed, inputSeed);
    expect(shown.backend).toBe('webgpu');
    const want = await onnxLogits(model, size, seed, inputSeed);
    expect(shown.lastLogits).toHaveLength(want.length);
    const atol = 1e-4 * Math.max(1, ...Array.from(want, Math.abs));
    const diff = Math.max(...shown.lastLogits.map((v, i) => Math.abs(v - want[i]!)));
    expect(diff, `max |webgpu in Chromium - onnx in Node| = ${diff}, atol ${atol}`).toBeLessThanOrEqual(atol);

    // The diagram: one box per block (stem, each residual block, head).
    const blocks = getZooEntry(model).config.layers.reduce((a, b) => a + b, 0) + 2;
    await expect.poll(() => page.locator('.block-node').count()).toBe(blocks);
    expect(shown.blockCount).toBe(blocks);
    await expect.poll(() => page.locator('#top5 li').count()).toBe(5);
    // A zoo model without a weights file: the panel says its classes mean nothing.
    expect(await page.locator('#random-weights').isVisible()).toBe(true);
    expect(await page.textContent('#random-weights')).toMatch(
      /^RANDOM WEIGHTS: these classes mean nothing\./,
    );
    expect(await page.textContent('#adapter')).toMatch(/webgpu — browser WebGPU/);

    // Expanding a block shows its primitives, SE squeeze/excite included.
    await page.click('.block-node[data-id="layer1.0"]');
    await expect.poll(() => page.locator('.op-node').count()).toBeGreaterThan(8);
    expect(await page.locator('.op-node text').allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/globalAvgPool · se/),
        expect.stringMatching(/conv2d 3x3 g32/),
      ]),
    );
    await page.screenshot({ path: `${outDir}/demo-1280x800.png`, fullPage: false });

    await page.click('#compare');
    await page.waitForFunction(() => window.cardinalDemo.lastCompareMaxAbsDiff !== undefined, undefined, {
      timeout: 120_000,
    });
    const d = await page.evaluate(() => window.cardinalDemo.lastCompareMaxAbsDiff!);
    expect(d).toBeLessThanOrEqual(atol);
    expect(await page.textContent('#compare-result')).toMatch(/webgpu vs onnxruntime-web \(wasm\)/);

    // Feature maps: timm's features_only model of the same network and weights, on WebGPU,
    // against the same extractor on backend-onnx in Node (every map's shape and mean).
    await page.click('#features');
    await page.waitForFunction(() => window.cardinalDemo.features !== undefined, undefined, {
      timeout: 120_000,
    });
    const maps = await page.evaluate(() => window.cardinalDemo.features!);
    const wantMaps = await onnxFeatures(model, size, seed, inputSeed);
    expect(maps.map((m) => [m.key, m.module, m.channels, m.reduction, m.shape])).toEqual(
      wantMaps.map((w, i) => [`feature.${i}`, w.module, w.channels, w.reduction, w.shape]),
    );
    for (const [i, m] of maps.entries())
      expect(Math.abs(m.mean - wantMaps[i]!.mean), m.key).toBeLessThanOrEqual(
        1e-4 * Math.max(1, Math.abs(wantMaps[i]!.mean)),
      );
    expect(await page.locator('.feature-map canvas').count()).toBe(5);
    expect(await page.locator('.feature-map figcaption').first().textContent()).toMatch(
      /^feature\.0: act1, 64 channels, reduction 2, 32x32$/,
    );
    await page.close();
    expect(consoleErrors).toEqual([]);
  });

  it.runIf(hasTorch)(
    'loads a model folder with a .pth (torch.save) in the page and classifies a photo as backend-onnx in Node, showing the crop',
    async () => {
      // The checkpoint: a fixture's state dict saved by Debian's torch; the config: timm's layout
      // with a non-default transform and label names.
      const tmp = mkdtempSync(join(tmpdir(), 'cardinal-demo-pth-'));
      const fixture = join(fixturesDir(), 'tiny_resnext');
      const script = fileURLToPath(
        new URL('../../../packages/core/test/reference/torch_save_variants.py', import.meta.url),
      );
      execFileSync(PYTHON, [script, join(fixture, 'weights.safetensors'), tmp], { stdio: 'ignore' });
      const pth = readFileSync(join(tmp, 'zip.pth'));
      const meta = JSON.parse(readFileSync(join(fixture, 'meta.json'), 'utf8')) as { config: unknown };
      const labels = Array.from({ length: 10 }, (_, i) => `kind <${i}>`);
      const configJson = pretrainedConfigJson(
        parseResNetConfig(meta.config),
        {
          inputSize: [48, 40],
          interpolation: 'bicubic',
          cropPct: 0.9,
          mean: [0.5, 0.4, 0.3],
          std: [0.2, 0.25, 0.3],
          channels: 3,
        },
        { labelNames: labels },
      );

      const page = await open({ width: 1280, height: 800 });
      await page.setInputFiles('#model-files', [
        {
          name: 'config.json',
          mimeType: 'application/json',
          buffer: Buffer.from(JSON.stringify(configJson)),
        },
        { name: 'pytorch_model.bin', mimeType: 'application/octet-stream', buffer: pth },
      ]);
      await expect.poll(() => page.evaluate(() => window.cardinalDemo.blockCount)).toBe(2 + 1 + 1 + 1 + 2);
      await page.setInputFiles('#image-file', PHOTO);
      const before = await page.evaluate(() => window.cardinalDemo.runs);
      await page.click('#run');
      await page.waitForFunction((n) => window.cardinalDemo.runs > n, before, { timeout: 120_000 });
      const shown = await page.evaluate(() => window.cardinalDemo);
      expect(shown.lastCrop).toEqual([48, 40]);
      expect(await page.textContent('#crop-caption')).toMatch(/40x48, bicubic, crop 0.9/);

      // The same files through the library in Node: sharp decoding, core's transform, backend-onnx.
      const cfg = parsePretrainedConfig(configJson);
      const graph = buildPretrained(cfg);
      const weights = loadWeights(graph, readTorchCheckpoint(pth, { source: 'zip.pth' }).tensors).weights;
      const x = preprocessImages([await decodeImage(PHOTO)], cfg.preprocess);
      const exe = await onnxBackend.compile(graph, weights, { executionProviders: ['cpu'] } as object);
      const logits = (await exe.run({ [graph.inputs[0]!.name]: x }))[graph.outputs[0]!]!;
      exe.dispose();
      const want = classify(logits, { top: 5, labels })[0]!;
      expect(shown.lastTop.map((t) => [t.index, t.label])).toEqual(want.map((t) => [t.index, t.label]));
      const atol = 1e-4;
      for (const [i, t] of want.entries())
        expect(Math.abs(shown.lastTop[i]!.prob - t.prob)).toBeLessThanOrEqual(atol);
      const diff = Math.max(...shown.lastLogits.map((v, i) => Math.abs(v - logits.data[i]!)));
      expect(diff).toBeLessThanOrEqual(atol);
      expect(await page.locator('#top5 li').first().textContent()).toContain(`kind <${want[0]!.index}>`);
      expect(await page.locator('#random-weights').isVisible()).toBe(false);
      await page.screenshot({ path: `${outDir}/demo-pth-folder.png`, fullPage: false });
      await page.close();
      expect(consoleErrors).toEqual([]);
    },
  );

  it.skipIf(!hasTorch)(
    'runs a dropped .onnx (torch.onnx.export of a timm SE-ResNeXt) as onnxruntime runs the file, on random and photo input',
    async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'cardinal-demo-onnx-'));
      const script = fileURLToPath(
        new URL('../../../tools/conformance/python/timm_replica.py', import.meta.url),
      );
      execFileSync(PYTHON, [script, fixturesDir(), tmp, 'tiny_seresnext_d:13:dynamic'], { stdio: 'ignore' });
      const bytes = readFileSync(join(tmp, 'tiny_seresnext_d-13.onnx'));
      const session = await ort.InferenceSession.create(bytes);
      const ortLogits = async (x: Tensor) =>
        (await session.run({ input: new ort.Tensor('float32', x.data, [...x.shape]) })).output!
          .data as Float32Array;

      const page = await open({ width: 1280, height: 800 });
      await page.setInputFiles('#onnx-file', {
        name: 'seresnext.onnx',
        mimeType: 'application/octet-stream',
        buffer: bytes,
      });
      // The stem, the four blocks (found by the module paths the exporter left) and the head.
      await expect.poll(() => page.evaluate(() => window.cardinalDemo.blockCount)).toBe(1 + 4 + 1);
      expect(await page.textContent('#latency')).toBe('');
      const run = async () => {
        const before = await page.evaluate(() => window.cardinalDemo.runs);
        await page.click('#run');
        await page.waitForFunction((n) => window.cardinalDemo.runs > n, before, { timeout: 120_000 });
        return page.evaluate(() => window.cardinalDemo);
      };
      const atol = 1e-4 * 8;
      await page.selectOption('#input-kind', 'random');
      await page.fill('#input-seed', '5');
      const random = await run();
      expect(random.lastLogits).toHaveLength(10);
      const want = await ortLogits(randomNormal([1, 3, 32, 32], 5));
      expect(Math.max(...random.lastLogits.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(atol);
      expect(await page.textContent('#latency')).toContain('seresnext.onnx (opset 13, pytorch');
      // A photo through ImageNet's transform at the size the file declares (32).
      await page.setInputFiles('#image-file', PHOTO);
      const photo = await run();
      expect(photo.lastCrop).toEqual([32, 32]);
      const x = preprocessImages([await decodeImage(PHOTO)], { ...IMAGENET_DEFAULTS, inputSize: [32, 32] });
      const wantPhoto = await ortLogits(x);
      expect(Math.max(...photo.lastLogits.map((v, i) => Math.abs(v - wantPhoto[i]!)))).toBeLessThanOrEqual(
        atol,
      );
      await page.screenshot({ path: `${outDir}/demo-onnx.png`, fullPage: false });
      await page.close();
      expect(consoleErrors).toEqual([]);
    },
  );

  it.skipIf(!!fashionReason)(
    'Fashion-MNIST mode: real test images through the shipped weights, probabilities as backend-onnx gives in Node; a picture of the same pixels alike',
    async () => {
      const { graph, weights, norm, images, labels } = await shippedFashion();
      const exe = await onnxBackend.compile(graph, weights, { executionProviders: ['cpu'] } as object);
      const probsInNode = async (pixels: Uint8Array) => {
        const x = {
          shape: [1, 1, 28, 28],
          data: Float32Array.from(pixels, (v) => (v / 255 - norm.mean[0]!) / norm.std[0]!),
        };
        const logits = (await exe.run({ [graph.inputs[0]!.name]: x }))[graph.outputs[0]!]!.data;
        return classify({ shape: [1, 10], data: logits }, { top: 10 })[0]!.sort((a, b) => a.index - b.index);
      };
      const page = await open({ width: 1280, height: 800 });
      const maxDiff = (a: number[], b: { prob: number }[]) =>
        Math.max(...a.map((p, k) => Math.abs(p - b[k]!.prob)));
      try {
        for (const index of [0, 4321, 9999]) {
          await page.fill('#fashion-index', String(index));
          await page.dispatchEvent('#fashion-index', 'change');
          await page.waitForFunction((i) => window.cardinalDemo.fashion?.index === i, index, {
            timeout: 120_000,
          });
          const shown = (await page.evaluate(() => window.cardinalDemo.fashion))!;
          const pixels = images.subarray(index * 784, (index + 1) * 784);
          const want = await probsInNode(pixels);
          expect(shown.truth).toBe(FASHION_MNIST_CLASSES[labels[index]!]);
          expect(maxDiff(shown.probs, want)).toBeLessThanOrEqual(1e-4);
          const best = want.reduce((a, b) => (b.prob > a.prob ? b : a));
          expect(shown.predicted).toBe(FASHION_MNIST_CLASSES[best.index]);
          expect(await page.textContent('#fashion-truth')).toContain(`true label ${shown.truth}`);
          await expect.poll(() => page.locator('#fashion-probs li').count()).toBe(10);
        }
        // A PNG of test image 4321 as published (light on black) and inverted (dark on white, as a
        // photo of a garment is): both become the test image's input, so the same probabilities.
        const pixels = Array.from(images.subarray(4321 * 784, 4322 * 784));
        const want = await probsInNode(images.subarray(4321 * 784, 4322 * 784));
        for (const invert of [false, true]) {
          const png = await page.evaluate(
            ([px, inv]) => {
              const c = document.createElement('canvas');
              c.width = 28;
              c.height = 28;
              const img = new ImageData(28, 28);
              for (let i = 0; i < 784; i++) {
                const v = inv ? 255 - px[i]! : px[i]!;
                img.data.set([v, v, v, 255], i * 4);
              }
              c.getContext('2d')!.putImageData(img, 0, 0);
              return c.toDataURL('image/png').split(',')[1]!;
            },
            [pixels, invert] as const,
          );
          await page.evaluate(() => {
            delete window.cardinalDemo.fashion;
          });
          await page.setInputFiles('#fashion-file', {
            name: `garment-${invert}.png`,
            mimeType: 'image/png',
            buffer: Buffer.from(png, 'base64'),
          });
          await page.waitForFunction(() => window.cardinalDemo.fashion?.index === -1, undefined, {
            timeout: 60_000,
          });
          const shown = (await page.evaluate(() => window.cardinalDemo.fashion))!;
          expect(maxDiff(shown.probs, want)).toBeLessThanOrEqual(1e-4);
        }
        await page.screenshot({ path: `${outDir}/demo-fashion.png`, fullPage: true });
      } finally {
        exe.dispose();
        await page.close();
      }
      expect(consoleErrors).toEqual([]);
    },
  );

  it('is usable at a phone width', async () => {
    const page = await open({ width: 390, height: 844 });
    const shown = await runOnce(page, 'resnet18', 64, 0, 2);
    expect(shown.lastLogits).toHaveLength(1000);
    // Nothing wider than the screen except the scrollable diagram.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const runBox = await page.locator('#run').boundingBox();
    expect(runBox!.x + runBox!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${outDir}/demo-390x844.png`, fullPage: true });
    await page.close();
    expect(consoleErrors).toEqual([]);
  });

  it('keeps its state honest: the picker wins over a loaded config, stale results go, bad sizes are said', async () => {
    const page = await open({ width: 1280, height: 800 });
    const shown = await runOnce(page, 'resnet18', 64, 0, 2);
    expect(shown.lastLogits).toHaveLength(1000);
    await expect.poll(() => page.locator('#top5 li').count()).toBe(5);

    // A size out of range is an error on screen, never clamped behind the user's back, and the
    // previous model's results are gone.
    await page.fill('#size', '1000');
    await page.dispatchEvent('#size', 'change');
    await expect
      .poll(() => page.textContent('#message'))
      .toMatch(/input size must be a whole number from 32 to 512, got '1000'/);
    expect(await page.locator('#top5 li').count()).toBe(0);
    await page.fill('#size', '64');
    await page.dispatchEvent('#size', 'change');

    // A config file, then the zoo picker: the picked model is built, not the file's.
    const meta = readFileSync(join(fixturesDir(), 'tiny_resnext', 'meta.json'));
    await page.setInputFiles('#config-file', {
      name: 'meta.json',
      mimeType: 'application/json',
      buffer: meta,
    });
    await expect
      .poll(() => page.evaluate(() => window.cardinalDemo.blockCount))
      .toBe((JSON.parse(meta.toString()).config.layers as number[]).reduce((a, b) => a + b, 0) + 2);
    await page.selectOption('#model', 'resnet34');
    await expect.poll(() => page.evaluate(() => window.cardinalDemo.blockCount)).toBe(3 + 4 + 6 + 3 + 2);
    expect(await page.textContent('#message')).toBe('');

    // One style for every count in the summary (no raw 9408 beside 1.2M).
    const cells = await page
      .locator('#summary td:not(:first-child), #summary tbody th:not(:first-child)')
      .allTextContents();
    expect(cells.length).toBeGreaterThan(4);
    for (const c of cells) expect(c).toMatch(/^\d+(\.\d+)?[KMBT]?$/);
    expect(cells).toContain('21.8M');
    await page.close();
    expect(consoleErrors).toEqual([]);
  });

  it('falls back to onnxruntime-web wasm, with a message, when the browser has no WebGPU adapter', async () => {
    const plain = await launchChromium();
    try {
      // A browser without WebGPU: navigator.gpu is gone before the page's scripts run.
      const page = await open({ width: 1280, height: 800 }, plain, () =>
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }),
      );
      const shown = await runOnce(page, 'resnet18', 64, 0, 2);
      expect(shown.backend).toBe('onnxruntime-web (wasm)');
      expect(await page.textContent('#message')).toMatch(/WebGPU is not available/);
      const want = await onnxLogits('resnet18', 64, 0, 2);
      const diff = Math.max(...shown.lastLogits.map((v, i) => Math.abs(v - want[i]!)));
      expect(diff).toBeLessThanOrEqual(1e-4 * Math.max(1, ...Array.from(want, Math.abs)));
      await page.close();
    } finally {
      await plain.close();
    }
    expect(consoleErrors).toEqual([]);
  });
});
