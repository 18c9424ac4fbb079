// `cardinal train`'s flags, checked and typed: everything here is decided from argv alone,
// before any file is read.
import type { TfjsRuntimeName } from '@cardinal/backend-tfjs';
import { parse, parseIntFlag, parsePositiveInt, parseSize } from '../args.js';
import { isIdxSource } from '../data/idx.js';
import { UsageError } from '../errors.js';

const OPTIONS = {
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
  backend: { type: 'string' },
  'tfjs-backend': { type: 'string' },
  workers: { type: 'string', default: 'auto' },
  run: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** The backends that train, and the order `--backend` defaults to: the fastest first, as measured (BENCHMARKS.md). */
export const TRAIN_BACKENDS = ['onnx', 'tfjs', 'webgpu', 'reference'] as const;
export type TrainBackendName = (typeof TRAIN_BACKENDS)[number];

export type DataKind = 'synthetic' | 'idx' | 'photos';
export type ScheduleKind = 'constant' | 'cosine' | 'onecycle';

/** A training command's settings, every one checked. */
export interface TrainFlags {
  model: string;
  data: string;
  dataKind: DataKind;
  out: string;
  runDir: string;
  epochs: number;
  batch: number;
  seed: number;
  /** Square input size; `sizeGiven` when --input-size set it rather than the data's default. */
  size: number;
  sizeGiven: boolean;
  channels: number;
  trainSize: number | undefined;
  valSize: number | undefined;
  augment: boolean;
  optimizer: 'adam' | 'adamw' | 'sgd';
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  decay: 'all' | 'weights';
  schedule: ScheduleKind;
  warmupEpochs: number;
  labelSmoothing: number;
  numClasses: number | undefined;
  /** Module names as given (`stem` still unexpanded). */
  freeze: string[];
  backboneLr: number | undefined;
  weights: string | undefined;
  weightsKey: string | undefined;
  /** The backend that trains; undefined: the fastest here (see TRAINING_PREFERENCE). */
  backend: TrainBackendName | undefined;
  runtime: TfjsRuntimeName | undefined;
  workers: number | 'auto';
  resume: boolean;
  force: boolean;
  json: boolean;
}

function parseNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a non-negative number, got '${v}'`);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    throw new UsageError(
      `train: ${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got '${value}'`,
    );
  return found;
}

const RUNTIMES = ['node-gpu', 'node', 'cpu', 'wasm'] as const;

/** argv to checked settings, or 'help'. Usage errors (exit 2) for anything malformed. */
export function parseTrainFlags(argv: string[]): TrainFlags | 'help' {
  const { values: v, positionals } = parse('train', argv, OPTIONS);
  if (v.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('train: expected one model name or config file');
  if (!v.data) throw new UsageError('train: --data <dir | synthetic | fashion-mnist> is required');
  if (!v.out) throw new UsageError('train: --out FILE.safetensors is required');
  const optimizer = oneOf('--optimizer', v.optimizer, ['adam', 'adamw', 'sgd'] as const);
  const decay = oneOf('--decay', v.decay, ['all', 'weights'] as const);
  const schedule = oneOf('--schedule', v.schedule, ['constant', 'cosine', 'onecycle'] as const);
  const runtimeFlag = v['tfjs-backend'];
  const runtime = RUNTIMES.find((r) => r === runtimeFlag);
  if (runtimeFlag !== undefined && runtime === undefined)
    throw new UsageError(`train: unknown --tfjs-backend '${runtimeFlag}'`);
  const workers = v.workers === 'auto' ? 'auto' : parsePositiveInt(v.workers, '--workers');
  // --tfjs-backend and --workers are TensorFlow.js's: given without --backend, they choose it.
  const tfjsOnly = runtime !== undefined || v.workers !== 'auto';
  const backend =
    v.backend === undefined ? (tfjsOnly ? 'tfjs' : undefined) : oneOf('--backend', v.backend, TRAIN_BACKENDS);
  if (backend !== undefined && backend !== 'tfjs' && tfjsOnly)
    throw new UsageError(
      `train: --tfjs-backend and --workers are TensorFlow.js's; --backend ${backend} takes neither`,
    );
  const dataKind: DataKind = v.data === 'synthetic' ? 'synthetic' : isIdxSource(v.data) ? 'idx' : 'photos';
  const augment =
    oneOf('--augment', v.augment ?? (dataKind === 'synthetic' ? 'none' : 'crop-flip'), [
      'crop-flip',
      'none',
    ] as const) === 'crop-flip';
  const epochs = parsePositiveInt(v.epochs, '--epochs');
  const batch = parsePositiveInt(v['batch-size'], '--batch-size');
  if (workers !== 'auto' && (workers > 64 || workers * 2 > batch))
    throw new UsageError(
      `train: --workers ${workers} does not fit: at most 64, and at least 2 images of each batch (--batch-size ${batch}) per worker`,
    );
  const defaultVal = { synthetic: 300, idx: 5000, photos: undefined }[dataKind];
  const [size] = v['input-size']
    ? parseSize(v['input-size'], '--input-size')
    : [{ synthetic: 32, idx: 28, photos: 64 }[dataKind]];
  if (dataKind === 'idx' && size !== 28)
    throw new UsageError(`train: IDX images are 28x28; --input-size ${size} does not apply`);
  const lrGiven = v.lr !== undefined ? parseNumber(v.lr, '--lr') : undefined;
  return {
    model: positionals[0]!,
    data: v.data,
    dataKind,
    out: v.out,
    runDir: v.run ?? `${v.out.replace(/\.safetensors$/i, '')}-run`,
    epochs,
    batch,
    seed: parseIntFlag(v.seed, '--seed'),
    size,
    sizeGiven: v['input-size'] !== undefined,
    channels: dataKind === 'idx' ? 1 : 3,
    trainSize: v['train-size'] ? parsePositiveInt(v['train-size'], '--train-size') : undefined,
    valSize: v['val-size'] ? parsePositiveInt(v['val-size'], '--val-size') : defaultVal,
    augment,
    optimizer,
    learningRate: lrGiven ?? (optimizer === 'sgd' ? 0.05 : 0.003),
    momentum: parseNumber(v.momentum, '--momentum'),
    nesterov: v.nesterov ?? false,
    weightDecay: parseNumber(v['weight-decay'], '--weight-decay'),
    decay,
    schedule,
    warmupEpochs: parseNumber(v['warmup-epochs'], '--warmup-epochs'),
    labelSmoothing: parseNumber(v['label-smoothing'], '--label-smoothing'),
    numClasses: v['num-classes'] ? parsePositiveInt(v['num-classes'], '--num-classes') : undefined,
    freeze: (v.freeze ?? '').split(',').filter(Boolean),
    backboneLr: v['backbone-lr'] ? parseNumber(v['backbone-lr'], '--backbone-lr') : undefined,
    weights: v.weights,
    weightsKey: v['weights-key'],
    backend,
    runtime,
    workers,
    resume: v.resume ?? false,
    force: v.force ?? false,
    json: v.json ?? false,
  };
}
