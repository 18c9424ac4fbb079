// The fine-tuning panel: wiring of its controls to fine-tune.ts, the curve drawn as it trains.

import { webgpuBackend } from '@cardinal/backend-webgpu';
import { renderLossCurve } from './chart.js';
import { $ } from './dom.js';
import { type FashionModel, type FashionTestSet, loadFashionModel, loadFashionTestSet } from './fashion.js';
import { FINE_TUNE_RUN, fineTuneHead } from './fine-tune.js';
import { webgpuReason } from './runners.js';

/** What the page shows of a fine-tune, and what the end-to-end test reads. */
export interface FineTuneState {
  steps: number;
  losses: number[];
  accuracies: number[];
  done: boolean;
  /** What ran it (the training executable's description). */
  runs?: string;
  error?: string;
}

export function setUpFineTunePanel(report: (s: FineTuneState) => void): void {
  const button = $<HTMLButtonElement>('fine-tune-start');
  const stepsInput = $<HTMLInputElement>('fine-tune-steps');
  const status = $<HTMLParagraphElement>('fine-tune-status');
  const curve = $<HTMLDivElement>('fine-tune-curve');
  let model: Promise<FashionModel> | undefined;
  let testSet: Promise<FashionTestSet> | undefined;

  button.addEventListener('click', async () => {
    const steps = Number(stepsInput.value);
    if (!Number.isInteger(steps) || steps < 1 || steps > 200) {
      status.textContent = `steps must be a whole number from 1 to 200, got '${stepsInput.value}'`;
      return;
    }
    const state: FineTuneState = { steps, losses: [], accuracies: [], done: false };
    report(state);
    button.disabled = true;
    try {
      const noGpu = await webgpuReason();
      if (noGpu) throw new Error(`fine-tuning needs WebGPU, which this browser lacks: ${noGpu}`);
      status.textContent = 'loading fashion_resnext and the test images...';
      model ??= loadFashionModel();
      testSet ??= loadFashionTestSet();
      const [m, set] = await Promise.all([model, testSet]);
      status.textContent = 'compiling the training graph...';
      const result = await fineTuneHead(webgpuBackend, m, set, {
        ...FINE_TUNE_RUN,
        steps,
        onStep: (s) => {
          state.losses.push(s.loss);
          state.accuracies.push(s.accuracy);
          renderLossCurve(curve, state.losses, steps);
          status.textContent = `step ${s.step}/${steps}: loss ${s.loss.toFixed(4)}, batch accuracy ${(100 * s.accuracy).toFixed(1)}%`;
          report(state);
        },
      });
      state.runs = result.runs;
      status.textContent = `${steps} steps on ${result.runs}: loss ${state.losses[0]!.toFixed(4)} -> ${state.losses.at(-1)!.toFixed(4)}`;
    } catch (e) {
      state.error = e instanceof Error ? e.message : String(e);
      status.textContent = state.error;
    } finally {
      state.done = true;
      button.disabled = false;
      report(state);
    }
  });
}
