// What a training run will do, decided and checked before it starts: the model and its graph,
// the data and its held-out split, the weights it starts from, the schedule, the frozen
// modules and the run folder. Nothing is written here.
import { checkTensorCost, type Graph, type LrSchedule, type WeightMap } from '@cardinal/core';
import { checkOutputPath, checkOutsideInputs } from '@cardinal/pretrained';
import { CliError, UsageError } from '../errors.js';
import { commandWeights, costLimits, openSource } from '../model-source.js';
import { type TrainingData, trainingData } from './data.js';
import type { TrainFlags } from './flags.js';
import { openRunFolder, readCheckpoint } from './run-folder.js';

export interface TrainPlan {
  flags: TrainFlags;
  graph: Graph;
  label: string;
  weights: WeightMap;
  data: TrainingData & { classes: number };
  /** The classifier's parameter names (kept at the full rate by --backbone-lr). */
  head: string[];
  /** Module prefixes kept as they are (`stem` expanded). */
  freeze: string[];
  schedule: LrSchedule | undefined;
  /** What fixes the data order and the batches: a resume must be given the same. */
  runKey: Record<string, string | number | boolean>;
  resumed: ReturnType<typeof readCheckpoint> | undefined;
  /** Every file this command reads: an output that is one of them is refused. */
  inputs: (string | undefined)[];
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

/** --freeze as parameter prefixes; a name that matches nothing, or freezing everything, is refused. */
function frozenModules(graph: Graph, names: string[], label: string): string[] {
  const freeze = names.flatMap((m) => (m === 'stem' ? stemModules(graph) : [m]));
  const keys = Object.keys(graph.params);
  for (const m of freeze)
    if (!keys.some((k) => k.startsWith(`${m}.`)))
      throw new UsageError(`train: --freeze '${m}' names no module of ${label}`);
  if (freeze.length > 0 && keys.every((k) => freeze.some((m) => k.startsWith(`${m}.`))))
    throw new UsageError(
      `train: --freeze ${names.join(',')} freezes every parameter of ${label}; nothing would train`,
    );
  return freeze;
}

function lrSchedule(f: TrainFlags, trainImages: number): LrSchedule | undefined {
  const stepsPerEpoch = Math.ceil(trainImages / f.batch);
  const totalSteps = f.epochs * stepsPerEpoch;
  const warmupSteps = Math.round(f.warmupEpochs * stepsPerEpoch);
  const base = f.learningRate;
  if (f.schedule === 'cosine') return { kind: 'cosine', base, totalSteps, warmupSteps };
  // OneCycleLR's rising part ends on its peak step: one fewer than the warm-up's length.
  if (f.schedule === 'onecycle')
    return { kind: 'onecycle', base, totalSteps, warmupSteps: Math.max(0, warmupSteps - 1) };
  return undefined;
}

export async function planTraining(f: TrainFlags, err: (s: string) => void): Promise<TrainPlan> {
  const model = await openSource(f.model);
  const inputs: (string | undefined)[] = [
    ...model.files,
    f.weights,
    f.dataKind === 'synthetic' || f.data === 'fashion-mnist' ? undefined : f.data,
  ];
  checkOutputPath(f.out, f.force, inputs);
  // The run folder is an output too: never on or inside the data.
  checkOutsideInputs(f.runDir, inputs);
  // Cost first: a batch, and the synthetic set held in memory, refused before they are made.
  checkTensorCost('training batch', [f.batch, f.channels, f.size, f.size], costLimits());
  if (f.dataKind === 'synthetic')
    checkTensorCost(
      'synthetic training set',
      [(f.trainSize ?? 1200) + f.valSize!, 3, f.size, f.size],
      costLimits(),
    );

  // Data: a held-out split that the weights never see.
  const data = await trainingData({
    data: f.data,
    kind: f.dataKind,
    size: f.size,
    seed: f.seed,
    augment: f.augment,
    trainSize: f.trainSize,
    valSize: f.valSize,
    sizeGiven: f.sizeGiven,
    declared: model.pretrained()?.preprocess,
  });
  const classes = data.train.classes.length;
  if (f.numClasses !== undefined && f.numClasses !== classes)
    throw new UsageError(`train: --num-classes ${f.numClasses} but ${f.data} has ${classes} classes`);

  // --num-classes: the head is made for the data's classes, whatever the model or its weights had.
  const { graph, label } = model.load([f.batch, ...data.train.shape], {
    numClasses: classes,
    anyModel: f.numClasses !== undefined,
  });
  const outClasses = graph.tensors[graph.outputs[0]!]!.shape[1];
  if (outClasses !== classes)
    throw new CliError(`${f.model}: the model has ${outClasses} outputs but the data has ${classes} classes`);
  const freeze = frozenModules(graph, f.freeze, label);

  const runKey = {
    model: f.model,
    data: f.data,
    seed: f.seed,
    batch: f.batch,
    trainSize: f.trainSize ?? 0,
    valSize: f.valSize ?? 0,
    augment: f.augment,
  };
  openRunFolder(f.runDir, { resume: f.resume, force: f.force, create: false });
  const resumed = f.resume ? readCheckpoint(f.runDir, graph) : undefined;
  if (resumed) {
    const differs = Object.entries(runKey).find(([k, v]) => resumed.meta.run[k] !== v);
    if (differs)
      throw new CliError(
        `${f.runDir}: the run was made with ${differs[0]} ${JSON.stringify(resumed.meta.run[differs[0]])}, not ${JSON.stringify(differs[1])}; resume it with the same options`,
      );
  }
  const head = headKeys(graph);
  const weights = resumed
    ? resumed.weights
    : (
        await commandWeights(
          graph,
          model,
          { weights: f.weights, 'weights-key': f.weightsKey, json: f.json },
          inputs,
          err,
          {
            seed: f.seed,
            init: 'train',
            folderMayLackWeights: true,
            ...(f.numClasses !== undefined ? { replaceHead: head } : {}),
          },
        )
      ).weights;
  return {
    flags: f,
    graph,
    label,
    weights,
    data: { ...data, classes },
    head,
    freeze,
    schedule: lrSchedule(f, data.trainIdx.length),
    runKey,
    resumed,
    inputs,
  };
}
