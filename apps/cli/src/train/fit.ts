// Runs a checked plan: the trainer on TensorFlow.js, the epochs with their progress, checkpoints
// and metrics, a stop on SIGINT/SIGTERM between steps, and the trained weights written at the end.
import type { FitProgress } from '@cardinal/backend-tfjs';
import type { ParallelTrainer } from '@cardinal/backend-tfjs/parallel';
import { saveWeights, trainedMetadata } from '@cardinal/core';
import { writeFileAtomic } from '@cardinal/pretrained';
import { SingleBar } from 'cli-progress';
import { CliError } from '../errors.js';
import type { TrainPlan } from './plan.js';
import { type EpochRow, openRunFolder, readMetrics, writeCheckpoint, writeMetrics } from './run-folder.js';

type TfjsModule = typeof import('@cardinal/backend-tfjs');

async function loadTrainingBackend(): Promise<{
  tfjs: TfjsModule;
  parallel: typeof import('@cardinal/backend-tfjs/parallel');
}> {
  try {
    return {
      tfjs: await import('@cardinal/backend-tfjs'),
      parallel: await import('@cardinal/backend-tfjs/parallel'),
    };
  } catch {
    throw new CliError('training needs the package @cardinal/backend-tfjs');
  }
}

async function createTrainer(
  plan: TrainPlan,
  parallel: typeof import('@cardinal/backend-tfjs/parallel'),
): Promise<ParallelTrainer> {
  const f = plan.flags;
  const trainer = await parallel.ParallelTrainer.create(plan.graph, plan.weights, {
    workers: f.workers,
    batchSize: f.batch,
    freeze: plan.freeze,
    ...(f.backboneLr !== undefined
      ? { lrScale: { '': f.backboneLr, ...Object.fromEntries(plan.head.map((k) => [k, 1])) } }
      : {}),
    ...(f.runtime ? { runtime: f.runtime } : {}),
    optimizer: f.optimizer,
    learningRate: f.learningRate,
    ...(plan.schedule ? { schedule: plan.schedule } : {}),
    momentum: f.momentum,
    nesterov: f.nesterov,
    weightDecay: f.weightDecay,
    decay: f.decay,
    labelSmoothing: f.labelSmoothing,
    // DropPath / DropBlock masks follow the run's seed (a resume draws the same ones).
    dropSeed: f.seed,
  });
  // Data-parallel ranks change the BatchNorm statistics: a resume must use as many.
  const resumedRanks = Number(plan.resumed?.meta.run.workers ?? 1);
  if (plan.resumed && resumedRanks !== trainer.ranks) {
    await trainer.dispose();
    throw new CliError(
      `${f.runDir}: the run was made with --workers ${resumedRanks}, not ${trainer.ranks}; resume it with --workers ${resumedRanks}`,
    );
  }
  if (plan.resumed) trainer.restoreOptimizerState(plan.resumed.optimizer);
  return trainer;
}

/**
 * Progress within an epoch: a bar on a terminal; in a log (stderr not a terminal) a line at each
 * tenth of an epoch, so a long epoch is never silent.
 */
function stepReporter(epochs: number, json: boolean, err: (s: string) => void) {
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: 'epoch {epoch}/{epochs} [{bar}] step {value}/{total} | loss {loss} | acc {acc} | {ips} img/s',
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  return {
    step(p: FitProgress) {
      if (json) return;
      const fields = {
        epoch: p.epoch,
        epochs,
        loss: p.loss.toFixed(4),
        acc: `${(100 * p.accuracy).toFixed(1)}%`,
        ips: p.imagesPerSecond.toFixed(1),
      };
      if (bar) {
        if (p.step === 1) bar.start(p.steps, 0, fields);
        bar.update(p.step, fields);
        return;
      }
      const every = Math.ceil(p.steps / 10);
      if (p.steps >= 10 && p.step % every === 0 && p.step < p.steps)
        err(
          `epoch ${p.epoch}/${epochs} step ${p.step}/${p.steps}: loss ${fields.loss}, accuracy ${fields.acc}, ${fields.ips} img/s`,
        );
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Trains as planned and writes the weights; returns the epochs' rows (a resumed run's earlier ones too). */
export async function runTraining(
  plan: TrainPlan,
  err: (s: string) => void,
): Promise<{ history: EpochRow[]; runtime: string }> {
  const { tfjs, parallel } = await loadTrainingBackend();
  const trainer = await createTrainer(plan, parallel);
  const f = plan.flags;
  const { graph, label, resumed } = plan;
  const { train, val, trainIdx, valIdx, classes, normalisation } = plan.data;
  // Checked last of all: a mistake above leaves no folder behind.
  openRunFolder(f.runDir, { resume: f.resume, force: f.force, create: true });
  let stopping: string | undefined;
  const onSignal = (signal: string) => {
    stopping = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const runtime = trainer.describe();
  if (!f.json)
    err(
      `training ${label} on ${runtime}: ${trainIdx.length} train / ${valIdx.length} held-out images, ${classes} classes${resumed ? `; resuming ${f.runDir} after epoch ${resumed.meta.epoch}` : ''}`,
    );
  const progress = stepReporter(f.epochs, f.json, err);
  const history: EpochRow[] = resumed ? readMetrics(f.runDir).slice(0, resumed.meta.epoch) : [];
  try {
    await tfjs.fit(trainer, train, {
      epochs: f.epochs,
      batchSize: f.batch,
      seed: f.seed,
      trainIndices: trainIdx,
      valIndices: valIdx,
      valData: val,
      firstEpoch: resumed ? resumed.meta.epoch + 1 : 1,
      stopRequested: () => stopping,
      onStep: (p) => progress.step(p),
      onEpoch: async (row) => {
        progress.stop();
        history.push(row);
        const opt = await trainer.optimizerState();
        writeCheckpoint(f.runDir, graph, await trainer.weights(), opt, {
          epoch: row.epoch,
          steps: opt.steps,
          run: { ...plan.runKey, workers: trainer.ranks },
        });
        writeMetrics(f.runDir, history);
        if (!f.json)
          err(
            `epoch ${row.epoch}/${f.epochs}: loss ${row.loss.toFixed(4)}, train accuracy ${(100 * row.trainAccuracy).toFixed(1)}%, held-out accuracy ${(100 * row.valAccuracy).toFixed(1)}%, ${row.imagesPerSecond.toFixed(1)} img/s`,
          );
      },
    });
    const metadata = normalisation ? trainedMetadata(normalisation, train.classes) : undefined;
    writeFileAtomic(f.out, saveWeights(graph, await trainer.weights(), metadata), f.force, plan.inputs);
  } catch (e) {
    if (!(e instanceof tfjs.FitStopped)) throw e;
    const epoch = e.epoch;
    throw new CliError(
      `stopped by ${e.reason} in epoch ${epoch}; ${epoch > 1 ? `the checkpoint after epoch ${epoch - 1} is in ${f.runDir} (continue with --resume)` : 'no epoch was finished'}; ${f.out} not written`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
    await trainer.dispose();
  }
  return { history, runtime };
}
