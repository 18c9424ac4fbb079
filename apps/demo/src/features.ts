import { exportOnnx } from '@cardinal/backend-onnx/export';
import { compileWebGpu } from '@cardinal/backend-webgpu';
import type { Tensor } from '@cardinal/core';
import { escapeHtml } from './dom.js';
import type { FeatureModel } from './model.js';
import { ortWeb } from './runners.js';

/** One map as the page shows it (and the end-to-end test reads it). */
export interface ShownFeature {
  key: string;
  module: string;
  channels: number;
  reduction: number;
  shape: number[];
  /** The mean of every value of the map: one number to check against another backend. */
  mean: number;
}

/** Runs the feature extractor on WebGPU, or on onnxruntime-web's wasm where there is none. */
export async function runFeatures(f: FeatureModel, x: Tensor, webgpu: boolean): Promise<Tensor[]> {
  if (webgpu) {
    const exe = await compileWebGpu(f.graph, f.weights);
    try {
      const out = await exe.run({ [f.graph.inputs[0]!.name]: x });
      return f.graph.outputs.map((name) => out[name]!);
    } finally {
      exe.dispose();
    }
  }
  const ort = await ortWeb();
  const session = await ort.InferenceSession.create(exportOnnx(f.graph, f.weights), {
    executionProviders: ['wasm'],
  });
  try {
    const out = await session.run({
      [session.inputNames[0]!]: new ort.Tensor('float32', x.data, [...x.shape]),
    });
    return session.outputNames.map((name) => ({
      shape: out[name]!.dims as number[],
      data: out[name]!.data as Float32Array,
    }));
  } finally {
    void session.release();
  }
}

/** Each map's channel mean as a heat map (min to max of that map), with timm's feature_info. */
export function renderFeatures(host: HTMLElement, f: FeatureModel, maps: Tensor[]): ShownFeature[] {
  host.innerHTML = '';
  return maps.map((t, i) => {
    const [, c, h, w] = t.shape as [number, number, number, number];
    const info = f.info[i]!;
    const plane = new Float32Array(h * w);
    let total = 0;
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < h * w; p++) {
        const v = t.data[ch * h * w + p]!;
        plane[p]! += v / c;
        total += v;
      }
    let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const v of plane) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [w, h];
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      const u = hi > lo ? (plane[p]! - lo) / (hi - lo) : 0;
      img.data.set(
        [Math.round(255 * u), Math.round(255 * u * u * 0.8), Math.round(255 * (1 - u) * 0.6), 255],
        p * 4,
      );
    }
    ctx.putImageData(img, 0, 0);
    const figure = document.createElement('figure');
    figure.className = 'feature-map';
    figure.append(canvas);
    const caption = document.createElement('figcaption');
    caption.innerHTML = `feature.${i}: <b>${escapeHtml(info.module)}</b>, ${c} channels, reduction ${info.reduction}, ${w}x${h}`;
    figure.append(caption);
    host.append(figure);
    return {
      key: `feature.${i}`,
      module: info.module,
      channels: c,
      reduction: info.reduction,
      shape: [...t.shape],
      mean: total / t.data.length,
    };
  });
}
