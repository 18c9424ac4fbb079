// The Fashion-MNIST panel of the page: wiring of its controls to fashion.ts.

import { classify, FileError, ImageError, InputError } from '@cardinal/core';
import { $, escapeHtml } from './dom.js';
import { dropZone } from './drop.js';
import {
  drawInput,
  type FashionModel,
  type FashionResult,
  type FashionTestSet,
  loadFashionModel,
  loadFashionTestSet,
  pictureTensor,
  testImageTensor,
} from './fashion.js';
import { decodeFile } from './image.js';

/** Wires the panel; `report` receives every result shown (the page's test state). */
export function setUpFashionPanel(report: (r: FashionResult) => void): void {
  const message = $<HTMLParagraphElement>('fashion-message');
  const indexInput = $<HTMLInputElement>('fashion-index');
  const canvas = $<HTMLCanvasElement>('fashion-canvas');
  let model: Promise<FashionModel> | undefined;
  let testSet: Promise<FashionTestSet> | undefined;

  const show = async (x: Parameters<typeof drawInput>[1], m: FashionModel, index: number, truth?: number) => {
    drawInput(canvas, x, m);
    const logits = await m.runner.run(x);
    // Every class, most probable first: core's classify (softmax, ties by index), as the CLI ranks.
    const scores = classify(
      { shape: [1, logits.length], data: logits },
      { top: logits.length, ...(m.classes.length === logits.length ? { labels: m.classes } : {}) },
    )[0]!;
    const byClass = [...scores].sort((a, b) => a.index - b.index);
    const best = scores[0]!;
    const name = (k: number) => byClass[k]!.label;
    const predicted = best.label;
    $('fashion-truth').innerHTML =
      truth === undefined
        ? `a dropped picture; prediction <b>${escapeHtml(predicted)}</b>`
        : `test image ${index}: true label <b>${escapeHtml(name(truth))}</b>, prediction <b>${escapeHtml(predicted)}</b> ${truth === best.index ? '(right)' : '(wrong)'}`;
    $('fashion-probs').innerHTML = scores
      .map(
        (t) =>
          `<li><span class="bar" style="width:${(t.prob * 100).toFixed(1)}%"></span>${escapeHtml(t.label)} <small>${(t.prob * 100).toFixed(2)}%</small></li>`,
      )
      .join('');
    report({
      index,
      ...(truth === undefined ? {} : { truth: name(truth) }),
      predicted,
      probs: byClass.map((t) => t.prob),
    });
  };

  const guarded = async (work: () => Promise<void>) => {
    message.textContent = '';
    try {
      await work();
    } catch (e) {
      message.textContent = (e as Error).message;
    }
  };

  const showTestImage = () =>
    guarded(async () => {
      model ??= loadFashionModel();
      testSet ??= loadFashionTestSet();
      let set: FashionTestSet;
      try {
        set = await testSet;
      } catch (e) {
        testSet = undefined;
        throw new FileError(
          `${(e as Error).message}: the dev server serves the test split from Debian's dataset-fashion-mnist (or CARDINAL_FASHION_MNIST); a dropped picture still works`,
        );
      }
      const index = Number(indexInput.value);
      if (!Number.isInteger(index) || index < 0 || index >= set.count)
        throw new InputError(
          `test image must be a whole number from 0 to ${set.count - 1}, got '${indexInput.value}'`,
        );
      const m = await model;
      await show(testImageTensor(set, index, m), m, index, set.labels[index]!);
    });

  const showPicture = (f: File) =>
    guarded(async () => {
      model ??= loadFashionModel();
      let bitmap: ImageBitmap;
      try {
        bitmap = await decodeFile(f);
      } catch {
        throw new ImageError(`${f.name}: cannot decode image`);
      }
      const m = await model;
      await show(pictureTensor(bitmap, m), m, -1);
    });

  $('fashion-show').addEventListener('click', () => void showTestImage());
  indexInput.addEventListener('change', () => void showTestImage());
  $('fashion-random').addEventListener('click', () => {
    indexInput.value = String(Math.floor(Math.random() * 10_000));
    void showTestImage();
  });
  $<HTMLInputElement>('fashion-file').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void showPicture(f);
  });
  dropZone($('fashion-drop'), (files) => {
    if (files[0]) void showPicture(files[0]);
  });
}
