// Runs a checked plan: the trainer on the chosen backend (a GraphTrainer over its training
// compile, or backend-tfjs's own), the epochs with their progress, checkpoints and metrics, a stop
// on SIGINT/SIGTERM between steps, and the trained weights written at the end.
import type { Backend } from '@cardinal/core';
import { saveWeights, trainedMetadata } from '@cardinal/core';
import { findBackend, writeFileAtomic } from '@cardinal/pretrained';
import {
  type BatchTrainer,
  type FitProgress,
  FitStopped,
  fit,
  GraphTrainer,
  LossNotFinite,
} from '@cardinal/train';
import { SingleBar } from 'cli-progress';
import { CliError } from '../errors.js';
import { TRAIN_BACKENDS, type TrainBackendName } from './flags.js';
import type { TrainPlan } from './plan.js';
import { type EpochRow, openRunFolder, readMetrics, writeCheckpoint, writeMetrics } from './run-folder.js';

/** A trainer and how many data-parallel ranks it spreads a batch over (1 but for tfjs's workers). */
interface ChosenTrainer {
  trainer: BatchTrainer;
  ranks: number;
  backend: TrainBackendName;
  /** Why this backend, when the user did not name it. */
  why?: string;
}

/** The backend asked for, or the first of TRAIN_BACKENDS (fastest first) that runs here. */
async function chooseBackend(
  asked: TrainBackendName | undefined,
): Promise<{ name: TrainBackendName; backend: Backend; why?: string }> {
  const skipped: string[] = [];
  for (const name of asked ? [asked] : TRAIN_BACKENDS) {
    const found = await findBackend(name);
    if ('backend' in found && found.backend.compileTraining) {
      const why = asked
        ? undefined
        : `the fastest that trains here (BENCHMARKS.md, "Training")${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`;
      return { name, backend: found.backend, ...(why ? { why } : {}) };
    }
    const reason = 'reason' in found ? found.reason : 'it does not train';
    if (asked) throw new CliError(`train: backend '${name}' cannot train here: ${reason}`);
    skipped.push(`${name} (${reason})`);
  }
  throw new CliError(`train: no backend can train here: ${skipped.join('; ')}`);
}

async function createTrainer(plan: TrainPlan): Promise<ChosenTrainer> {
  const f = plan.flags;
  const chosen = await chooseBackend(f.backend);
  const common = {
    freeze: plan.freeze,
    ...(f.backboneLr !== undefined
      ? { lrScale: { '': f.backboneLr, ...Object.fromEntries(plan.head.map((k) => [k, 1])) } }
      : {}),
    optimizer: f.optimizer,
    learningRate: f.learningRate,
    ...(plan.schedule ? { schedule: plan.schedule } : {}),
    momentum: f.momentum,
    nesterov: f.nesterov,
    weightDecay: f.weightDecay,
    decay: f.decay,
    labelSmoothing: f.labelSmoothing,
  };
  const chosenTrainer =
    chosen.name === 'tfjs'
      ? await createTfjsTrainer(plan, common)
      : { trainer: await GraphTrainer.create(chosen.backend, plan.graph, plan.weights, common), ranks: 1 };
  const { trainer, ranks } = chosenTrainer;
  // Data-parallel ranks change the BatchNorm statistics: a resume must use as many.
  const resumedRanks = Number(plan.resumed?.meta.run.workers ?? 1);
  if (plan.resumed && resumedRanks !== ranks) {
    await trainer.dispose();
    throw new CliError(
      `${f.runDir}: the run was made with --workers ${resumedRanks}, not ${ranks}; resume it with --workers ${resumedRanks}`,
    );
  }
  if (plan.resumed) trainer.restoreOptimizerState(plan.resumed.optimizer);
  return { trainer, ranks, backend: chosen.name, ...(chosen.why ? { why: chosen.why } : {}) };
}

/** backend-tfjs's own trainer: its tape, and data-parallel worker threads (--workers). */
async function createTfjsTrainer(
  plan: TrainPlan,
  common: Parameters<typeof GraphTrainer.create>[3],
): Promise<{ trainer: BatchTrainer; ranks: number }> {
  let parallel: typeof import('@cardinal/backend-tfjs/parallel');
  try {
    parallel = await import('@cardinal/backend-tfjs/parallel');
  } catch {
    throw new CliError('training on tfjs needs the package @cardinal/backend-tfjs');
  }
  const f = plan.flags;
  const trainer = await parallel.ParallelTrainer.create(plan.graph, plan.weights, {
    ...common,
    workers: f.workers,
    batchSize: f.batch,
    ...(f.runtime ? { runtime: f.runtime } : {}),
    // DropPath / DropBlock masks follow the run's seed (a resume draws the same ones).
    dropSeed: f.seed,
  });
  return { trainer, ranks: trainer.ranks };
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
): Promise<{ history: EpochRow[]; runtime: string; backend: string }> {
  const { trainer, ranks, backend, why } = await createTrainer(plan);
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
      `training ${label} on ${backend}${why ? ` (${why})` : ''}, ${runtime}: ${trainIdx.length} train / ${valIdx.length} held-out images, ${classes} classes${resumed ? `; resuming ${f.runDir} after epoch ${resumed.meta.epoch}` : ''}`,
    );
  const progress = stepReporter(f.epochs, f.json, err);
  const history: EpochRow[] = resumed ? readMetrics(f.runDir).slice(0, resumed.meta.epoch) : [];
  try {
    await fit(trainer, train, {
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
          run: { ...plan.runKey, workers: ranks },
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
    if (e instanceof LossNotFinite) {
      const done = history.length;
      throw new CliError(
        `${e.message}; ${done > 0 ? `the checkpoint after epoch ${done} is in ${f.runDir}` : 'no epoch was finished'}; ${f.out} not written (a lower --lr?)`,
      );
    }
    if (!(e instanceof FitStopped)) throw e;
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
  return { history, runtime, backend };
}
