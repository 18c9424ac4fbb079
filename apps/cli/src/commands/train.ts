import {
  type ChannelNormalisation,
  checkTensorCost,
  type Graph,
  type LrSchedule,
  type PreprocessConfig,
  saveWeights,
  trainedMetadata,
} from '@cardinal/core';
import { checkOutputPath, writeFileAtomic } from '@cardinal/pretrained';
import { SingleBar } from 'cli-progress';
import { parse, parseIntFlag, parsePositiveInt, parseSize } from '../args.js';
import { shuffled } from '../data/dataset.js';
import { idxData, isIdxSource } from '../data/idx.js';
import { photoFolder, photoTransform, type TrainData, tensorData } from '../data/source.js';
import { syntheticShapes } from '../data/synthetic.js';
import { CliError, UsageError } from '../errors.js';
import { commandWeights, costLimits, openSource } from '../model-source.js';
import {
  type EpochRow,
  openRunFolder,
  readCheckpoint,
  readMetrics,
  writeCheckpoint,
  writeMetrics,
} from '../train/run-folder.js';

export const trainHelp = `cardinal train <model | config.json> --data <dir | synthetic | fashion-mnist> --out trained.safetensors
              [--epochs 3] [--batch-size 32] [--lr 0.003] [--optimizer adam|adamw|sgd] [--momentum 0.9]
              [--nesterov] [--weight-decay 0] [--decay all|weights] [--schedule constant|cosine|onecycle]
              [--warmup-epochs 0] [--label-smoothing 0] [--input-size 32] [--train-size N] [--val-size N] [--seed 0]
              [--augment crop-flip|none] [--weights init.safetensors|init.pth [--weights-key K]]
              [--num-classes N] [--freeze stem,layer1,...] [--backbone-lr FACTOR]
              [--run DIR] [--resume] [--tfjs-backend node-gpu|node|wasm|cpu] [--workers auto|N] [--force] [--json]
  Trains on TensorFlow.js and writes the weights as safetensors with PyTorch names.
  --data synthetic: coloured shapes, 10 classes, made on the fly (1200 train / 300 held-out);
  a folder: one subfolder per class (10% held out); fashion-mnist (Debian's dataset-fashion-mnist)
  or a folder of MNIST-style IDX files: the published train split, less a held-out --val-size
  (default 5000) chosen by --seed; 1x28x28 images normalised with the training split's mean and
  std (written into the safetensors metadata), augmented by a random crop with 2 pixels of
  padding and a horizontal flip (--augment none turns it off). A folder of photos: torchvision's
  RandomResizedCrop and flip for training, the model's own transform (a timm folder's, else
  ImageNet's at --input-size) for the held-out images.
  Fine-tuning: --weights from a pretrained model; --num-classes N makes a new head for the data's
  classes (the old classifier's weights are dropped, and said so); --freeze keeps the named
  modules (stem = the stem's modules) as they are; --backbone-lr scales the rate of all but the head.
  The optimisers and schedules are PyTorch's, update for update: SGD (with --nesterov), Adam,
  AdamW (decoupled decay); --decay weights skips BatchNorm and biases; cosine is LinearLR warm-up
  then CosineAnnealingLR to 0, onecycle is OneCycleLR (cosine; the warm-up is its rising part).
  --workers N splits each batch over N threads (one tfjs runtime per core), as PyTorch's
  DistributedDataParallel without SyncBatchNorm splits it over N processes: each thread's BatchNorm
  normalises its share with that share's statistics, the threads' gradients are averaged and every
  thread takes the same step; the running statistics are the first thread's. auto (default): one
  thread per core on wasm and cpu (at least 16 images each), 1 on tfjs-node, which uses every core.
  The run folder (--run, default <out>-run beside --out) gets checkpoint.safetensors (weights,
  optimiser state, epoch) after every epoch, metrics.jsonl and curves.svg; a new run refuses an
  existing folder unless --resume (continue from its checkpoint: the same command with --resume
  gives the uninterrupted run's weights, bit for bit) or --force. SIGINT or SIGTERM stops the run
  at the next step: the last checkpoint stays, --out is not written.`;

function parseNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a non-negative number, got '${v}'`);
  return n;
}

/** The classifier's parameters: those of the graph's last linear layer. */
function headKeys(graph: Graph): string[] {
  const fc = [...graph.nodes].reverse().find((n) => n.op === 'linear');
  return fc ? Object.values(fc.params) : [];
}

/** The modules before the first stage (`layer1`): the stem. */
function stemModules(graph: Graph): string[] {
  const tops = new Set<string>();
  for (const k of Object.keys(graph.params)) {
    const top = k.split('.')[0]!;
    if (/^layer\d+$/.test(top)) break;
    tops.add(top);
  }
  return [...tops];
}

export async function trainCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('train', argv, {
    data: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },
    lr: { type: 'string' },
    optimizer: { type: 'string', default: 'adam' },
    momentum: { type: 'string', default: '0.9' },
    'weight-decay': { type: 'string', default: '0' },
    nesterov: { type: 'boolean' },
    decay: { type: 'string', default: 'all' },
    schedule: { type: 'string', default: 'constant' },
    'warmup-epochs': { type: 'string', default: '0' },
    'label-smoothing': { type: 'string', default: '0' },
    'input-size': { type: 'string' },
    'train-size': { type: 'string' },
    'val-size': { type: 'string' },
    augment: { type: 'string' },
    'num-classes': { type: 'string' },
    freeze: { type: 'string' },
    'backbone-lr': { type: 'string' },
    seed: { type: 'string', default: '0' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    'tfjs-backend': { type: 'string' },
    workers: { type: 'string', default: 'auto' },
    run: { type: 'string' },
    resume: { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    out(trainHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('train: expected one model name or config file');
  if (!values.data) throw new UsageError('train: --data <dir | synthetic | fashion-mnist> is required');
  if (!values.out) throw new UsageError('train: --out FILE.safetensors is required');
  if (values.optimizer !== 'adam' && values.optimizer !== 'adamw' && values.optimizer !== 'sgd')
    throw new UsageError(`train: --optimizer must be adam, adamw or sgd, got '${values.optimizer}'`);
  if (values.decay !== 'all' && values.decay !== 'weights')
    throw new UsageError(`train: --decay must be all or weights, got '${values.decay}'`);
  if (!['constant', 'cosine', 'onecycle'].includes(values.schedule!))
    throw new UsageError(`train: --schedule must be constant, cosine or onecycle, got '${values.schedule}'`);
  const runtimeFlag = values['tfjs-backend'];
  if (runtimeFlag && !['node-gpu', 'node', 'cpu', 'wasm'].includes(runtimeFlag))
    throw new UsageError(`train: unknown --tfjs-backend '${runtimeFlag}'`);
  const workers = values.workers === 'auto' ? 'auto' : parsePositiveInt(values.workers!, '--workers');
  const spec = positionals[0]!;
  const synthetic = values.data === 'synthetic';
  const idx = !synthetic && isIdxSource(values.data);
  if (values.augment !== undefined && values.augment !== 'crop-flip' && values.augment !== 'none')
    throw new UsageError(`train: --augment must be crop-flip or none, got '${values.augment}'`);
  const augment = (values.augment ?? (synthetic ? 'none' : 'crop-flip')) === 'crop-flip';
  // Inputs of this command: an output path that is one of them is refused, even with --force.
  const model = await openSource(spec);
  const inputs: (string | undefined)[] = [
    ...model.files,
    values.weights,
    synthetic || values.data === 'fashion-mnist' ? undefined : values.data,
  ];
  checkOutputPath(values.out, values.force ?? false, inputs);
  const epochs = parsePositiveInt(values.epochs!, '--epochs');
  const batch = parsePositiveInt(values['batch-size']!, '--batch-size');
  const seed = parseIntFlag(values.seed!, '--seed');
  if (workers !== 'auto' && (workers > 64 || workers * 2 > batch))
    throw new UsageError(
      `train: --workers ${workers} does not fit: at most 64, and at least 2 images of each batch (--batch-size ${batch}) per worker`,
    );
  const trainSize = values['train-size'] ? parsePositiveInt(values['train-size'], '--train-size') : undefined;
  const valSize = values['val-size']
    ? parsePositiveInt(values['val-size'], '--val-size')
    : synthetic
      ? 300
      : idx
        ? 5000
        : undefined;
  const [size] = values['input-size']
    ? parseSize(values['input-size'], '--input-size')
    : [synthetic ? 32 : idx ? 28 : 64];
  if (idx && size !== 28)
    throw new UsageError(`train: IDX images are 28x28; --input-size ${size} does not apply`);
  const channels = idx ? 1 : 3;
  // Cost first: a batch, and the synthetic set held in memory, refused before they are made.
  checkTensorCost('training batch', [batch, channels, size!, size!], costLimits());
  if (synthetic)
    checkTensorCost(
      'synthetic training set',
      [(trainSize ?? 1200) + valSize!, 3, size!, size!],
      costLimits(),
    );

  // Data: a held-out split that the weights never see.
  const { train, val, trainIdx, valIdx, normalisation } = await trainingData({
    data: values.data,
    kind: synthetic ? 'synthetic' : idx ? 'idx' : 'photos',
    size: size!,
    seed,
    augment,
    trainSize,
    valSize,
    sizeGiven: !!values['input-size'],
    declared: model.pretrained()?.preprocess,
  });
  const classes = train.classes.length;
  if (values['num-classes'] && parsePositiveInt(values['num-classes'], '--num-classes') !== classes)
    throw new UsageError(
      `train: --num-classes ${values['num-classes']} but ${values.data} has ${classes} classes`,
    );

  const inputShape = [batch, ...train.shape];
  // --num-classes: the head is made for the data's classes, whatever the model or its weights had.
  const { graph: built, label } = model.load(inputShape, {
    numClasses: classes,
    anyModel: !!values['num-classes'],
  });
  const graph: Graph = built;
  const outClasses = graph.tensors[graph.outputs[0]!]!.shape[1];
  if (outClasses !== classes)
    throw new CliError(`${spec}: the model has ${outClasses} outputs but the data has ${classes} classes`);
  const runDir = values.run ?? `${values.out.replace(/\.safetensors$/i, '')}-run`;
  // What fixes the data order and the batches: a resume must be given the same.
  const runKey = {
    model: spec,
    data: values.data,
    seed,
    batch,
    trainSize: trainSize ?? 0,
    valSize: valSize ?? 0,
    augment,
  };
  const folder = { resume: values.resume ?? false, force: values.force ?? false };
  openRunFolder(runDir, { ...folder, create: false });
  const resumed = values.resume ? readCheckpoint(runDir, graph) : undefined;
  if (resumed) {
    const differs = Object.entries(runKey).find(([k, v]) => resumed.meta.run[k] !== v);
    if (differs)
      throw new CliError(
        `${runDir}: the run was made with ${differs[0]} ${JSON.stringify(resumed.meta.run[differs[0]])}, not ${JSON.stringify(differs[1])}; resume it with the same options`,
      );
  }
  const head = headKeys(graph);
  const weights = resumed
    ? resumed.weights
    : await commandWeights(graph, model, values, inputs, err, {
        seed,
        init: 'train',
        folderMayLackWeights: true,
        ...(values['num-classes'] ? { replaceHead: head } : {}),
      });

  let tfjs: typeof import('@cardinal/backend-tfjs');
  let parallel: typeof import('@cardinal/backend-tfjs/parallel');
  try {
    tfjs = await import('@cardinal/backend-tfjs');
    parallel = await import('@cardinal/backend-tfjs/parallel');
  } catch {
    throw new CliError('training needs the package @cardinal/backend-tfjs');
  }
  const learningRate = values.lr ? parseNumber(values.lr, '--lr') : values.optimizer === 'sgd' ? 0.05 : 0.003;
  const stepsPerEpoch = Math.ceil(trainIdx.length / batch);
  const totalSteps = epochs * stepsPerEpoch;
  const warmupSteps = Math.round(parseNumber(values['warmup-epochs']!, '--warmup-epochs') * stepsPerEpoch);
  const schedule: LrSchedule | undefined =
    values.schedule === 'cosine'
      ? { kind: 'cosine', base: learningRate, totalSteps, warmupSteps }
      : values.schedule === 'onecycle'
        ? { kind: 'onecycle', base: learningRate, totalSteps, warmupSteps: Math.max(0, warmupSteps - 1) }
        : undefined;
  const freeze = (values.freeze ?? '')
    .split(',')
    .filter(Boolean)
    .flatMap((m) => (m === 'stem' ? stemModules(graph) : [m]));
  for (const m of freeze)
    if (!Object.keys(graph.params).some((k) => k.startsWith(`${m}.`)))
      throw new UsageError(`train: --freeze '${m}' names no module of ${label}`);
  const backboneLr = values['backbone-lr'] ? parseNumber(values['backbone-lr'], '--backbone-lr') : undefined;
  const trainer = await parallel.ParallelTrainer.create(graph, weights, {
    workers,
    batchSize: batch,
    freeze,
    ...(backboneLr !== undefined
      ? { lrScale: { '': backboneLr, ...Object.fromEntries(head.map((k) => [k, 1])) } }
      : {}),
    runtime: runtimeFlag as never,
    optimizer: values.optimizer,
    learningRate,
    ...(schedule ? { schedule } : {}),
    momentum: parseNumber(values.momentum!, '--momentum'),
    nesterov: values.nesterov ?? false,
    weightDecay: parseNumber(values['weight-decay']!, '--weight-decay'),
    decay: values.decay as 'all' | 'weights',
    labelSmoothing: parseNumber(values['label-smoothing']!, '--label-smoothing'),
  });
  // Data-parallel ranks change the BatchNorm statistics: a resume must use as many.
  const resumedRanks = Number(resumed?.meta.run.workers ?? 1);
  if (resumed && resumedRanks !== trainer.ranks) {
    await trainer.dispose();
    throw new CliError(
      `${runDir}: the run was made with --workers ${resumedRanks}, not ${trainer.ranks}; resume it with --workers ${resumedRanks}`,
    );
  }
  if (resumed) trainer.restoreOptimizerState(resumed.optimizer);
  const history = await fitAndWrite({
    tfjs,
    trainer,
    graph,
    label,
    data: { train, val, trainIdx, valIdx, classes, normalisation },
    schedule: { epochs, batch, seed },
    run: { dir: runDir, folder, key: runKey, resumed },
    output: { file: values.out, force: values.force ?? false, inputs },
    json: values.json ?? false,
    err,
  });
  const last = history[history.length - 1];
  if (values.json) {
    out(
      JSON.stringify({
        model: label,
        data: values.data,
        classes,
        runtime: trainer.describe(),
        epochs: history,
        out: values.out,
      }),
    );
  } else {
    out(
      `trained ${label} for ${epochs} epochs: held-out accuracy ${last ? (100 * last.valAccuracy).toFixed(1) : '-'}% (chance ${(100 / classes).toFixed(1)}%), final loss ${last ? last.loss.toFixed(4) : '-'}; wrote ${values.out}`,
    );
  }
  return 0;
}

/** The training data and its held-out split (indices into the training set, or its own set). */
interface TrainingData {
  train: TrainData;
  val: TrainData;
  trainIdx: Int32Array;
  valIdx: Int32Array;
  /** What IDX images were normalised with (stored with the weights). */
  normalisation?: ChannelNormalisation;
}

/** --data as training and held-out data: synthetic shapes, IDX files, or a folder of photos. */
async function trainingData(o: {
  data: string;
  kind: 'synthetic' | 'idx' | 'photos';
  size: number;
  seed: number;
  augment: boolean;
  trainSize: number | undefined;
  valSize: number | undefined;
  sizeGiven: boolean;
  declared: PreprocessConfig | undefined;
}): Promise<TrainingData> {
  const { size, seed, augment, trainSize, valSize } = o;
  if (o.kind === 'synthetic') {
    const train = tensorData(
      syntheticShapes(trainSize ?? 1200, size, seed),
      augment ? { pad: 2, fill: 0 } : undefined,
    );
    const val = tensorData(syntheticShapes(valSize!, size, seed + 1_000_003));
    const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    return { train, val, trainIdx: all(train.count), valIdx: all(val.count) };
  }
  if (o.kind === 'idx') {
    const data = idxData(o.data);
    const n = data.normalisation;
    // A black pixel, normalised, fills the border the crop exposes.
    const train = tensorData(data.train, augment ? { pad: 2, fill: -n.mean[0]! / n.std[0]! } : undefined);
    if (valSize! >= train.count)
      throw new UsageError(`train: --val-size ${valSize} leaves no training images of ${train.count}`);
    // The held-out images come out of the published train split, chosen by the seed; the test split stays unseen.
    const order = shuffled(train.count, seed);
    return {
      train,
      val: train,
      valIdx: order.subarray(0, valSize),
      trainIdx: order.subarray(valSize, trainSize ? valSize! + trainSize : undefined),
      normalisation: n,
    };
  }
  // Photos: the model's own transform (a timm folder's pretrained_cfg, else ImageNet's at the size asked).
  const cfg = photoTransform(o.declared, size, o.sizeGiven);
  const train = await photoFolder(o.data, cfg, augment);
  const order = shuffled(train.count, seed);
  const nVal = valSize ?? Math.max(1, Math.round(train.count * 0.1));
  if (nVal >= train.count)
    throw new UsageError(`train: --val-size ${nVal} leaves no training images of ${train.count}`);
  return { train, val: train, valIdx: order.subarray(0, nVal), trainIdx: order.subarray(nVal) };
}

/** What a training run needs once everything is checked: the trainer, the data, where it writes. */
interface FitPlan {
  tfjs: typeof import('@cardinal/backend-tfjs');
  trainer: import('@cardinal/backend-tfjs/parallel').ParallelTrainer;
  graph: Graph;
  label: string;
  data: TrainingData & { classes: number };
  schedule: { epochs: number; batch: number; seed: number };
  run: {
    dir: string;
    folder: { resume: boolean; force: boolean };
    key: Record<string, string | number | boolean>;
    resumed: ReturnType<typeof readCheckpoint> | undefined;
  };
  output: { file: string; force: boolean; inputs: (string | undefined)[] };
  json: boolean;
  err: (s: string) => void;
}

/**
 * The epochs: progress, a checkpoint and metrics after each, a stop on SIGINT/SIGTERM between
 * steps (the last checkpoint kept), and the trained weights written at the end. Returns the
 * epochs' rows (a resumed run's earlier ones included).
 */
async function fitAndWrite(plan: FitPlan): Promise<EpochRow[]> {
  const { tfjs, trainer, graph, label, run, output, json, err } = plan;
  const { train, val, trainIdx, valIdx, classes, normalisation } = plan.data;
  const { epochs, batch, seed } = plan.schedule;
  // Checked last of all: a mistake above leaves no folder behind.
  openRunFolder(run.dir, { ...run.folder, create: true });
  const firstEpoch = run.resumed ? run.resumed.meta.epoch + 1 : 1;
  let stopping: string | undefined;
  const onSignal = (signal: string) => {
    stopping = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (!json)
    err(
      `training ${label} on ${trainer.describe()}: ${trainIdx.length} train / ${valIdx.length} held-out images, ${classes} classes${run.resumed ? `; resuming ${run.dir} after epoch ${run.resumed.meta.epoch}` : ''}`,
    );
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new SingleBar({
        format: 'epoch {epoch}/{epochs} [{bar}] step {value}/{total} | loss {loss} | acc {acc} | {ips} img/s',
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  const history: EpochRow[] = run.resumed ? readMetrics(run.dir).slice(0, run.resumed.meta.epoch) : [];
  try {
    await tfjs.fit(trainer, train, {
      epochs,
      batchSize: batch,
      seed,
      trainIndices: trainIdx,
      valIndices: valIdx,
      valData: val,
      firstEpoch,
      stopRequested: () => stopping,
      onStep: (p) => {
        if (p.step === 1) bar?.start(p.steps, 0, { epoch: p.epoch, epochs, loss: '-', acc: '-', ips: '-' });
        bar?.update(p.step, {
          epoch: p.epoch,
          epochs,
          loss: p.loss.toFixed(4),
          acc: `${(100 * p.accuracy).toFixed(1)}%`,
          ips: p.imagesPerSecond.toFixed(1),
        });
      },
      onEpoch: async (row) => {
        bar?.stop();
        history.push(row);
        const opt = await trainer.optimizerState();
        writeCheckpoint(run.dir, graph, await trainer.weights(), opt, {
          epoch: row.epoch,
          steps: opt.steps,
          run: { ...run.key, workers: trainer.ranks },
        });
        writeMetrics(run.dir, history);
        if (!json)
          err(
            `epoch ${row.epoch}/${epochs}: loss ${row.loss.toFixed(4)}, train accuracy ${(100 * row.trainAccuracy).toFixed(1)}%, held-out accuracy ${(100 * row.valAccuracy).toFixed(1)}%, ${row.imagesPerSecond.toFixed(1)} img/s`,
          );
      },
    });
    const metadata = normalisation ? trainedMetadata(normalisation, train.classes) : undefined;
    writeFileAtomic(
      output.file,
      saveWeights(graph, await trainer.weights(), metadata),
      output.force,
      output.inputs,
    );
  } catch (e) {
    if (!(e instanceof tfjs.FitStopped)) throw e;
    const epoch = e.epoch;
    throw new CliError(
      `stopped by ${e.reason} in epoch ${epoch}; ${epoch > 1 ? `the checkpoint after epoch ${epoch - 1} is in ${run.dir} (continue with --resume)` : 'no epoch was finished'}; ${output.file} not written`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar?.stop();
    await trainer.dispose();
  }
  return history;
}
