import { ClassificationMetrics, type ClassificationReport, confusionSvg, type Tensor } from '@cardinal/core';
import { checkOutputPath, storedTraining, writeFileAtomic } from '@cardinal/pretrained';
import { parse, parsePositiveInt, parseSize } from '../args.js';
import { loadBackend } from '../backends.js';
import { idxData, isIdxSource } from '../data/idx.js';
import { photoFolder, photoTransform, type TrainData, tensorData } from '../data/source.js';
import { CliError, UsageError } from '../errors.js';
import { commandWeights, localWeights, openSource } from '../model-source.js';

export const evalHelp = `cardinal eval <model | config.json | model.onnx> [--weights W] --data <fashion-mnist | idx dir | image folder>
              [--split test|train] [--backend onnx|tfjs|webgpu|reference] [--batch-size 100]
              [--input-size S] [--svg confusion.svg [--force]] [--json]
  Top-1 and top-5 accuracy, per-class accuracy and the confusion matrix of a classifier on a
  data set's split (test by default). --json prints one object {top1, top5, n, per_class, confusion};
  --svg writes the confusion matrix as a picture.`;

/** Runs every sample of `ds` through `run` in batches and accumulates the report. */
export async function evaluate(
  run: (x: Tensor) => Promise<Float32Array>,
  ds: TrainData,
  batch: number,
): Promise<ClassificationReport> {
  const metrics = new ClassificationMetrics(ds.classes.length);
  for (let i = 0; i < ds.count; i += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, ds.count - i) }, (_, k) => i + k);
    const b = ds.eval(idx);
    metrics.add(await run(b), b.labels);
  }
  return metrics.report();
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export async function evalCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('eval', argv, {
    data: { type: 'string' },
    split: { type: 'string', default: 'test' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    backend: { type: 'string', default: 'onnx' },
    'batch-size': { type: 'string', default: '100' },
    'input-size': { type: 'string' },
    svg: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    out(evalHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('eval: expected one model');
  if (!values.data) throw new UsageError('eval: --data <fashion-mnist | idx dir | image folder> is required');
  if (values.split !== 'test' && values.split !== 'train')
    throw new UsageError(`eval: --split must be test or train, got '${values.split}'`);
  const batch = parsePositiveInt(values['batch-size']!, '--batch-size');
  const model = await openSource(positionals[0]!);
  const inputs: (string | undefined)[] = [...model.files, values.weights];
  if (values.svg) {
    if (!values.svg.toLowerCase().endsWith('.svg'))
      throw new UsageError(`eval: --svg must end in .svg, got '${values.svg}'`);
    checkOutputPath(values.svg, values.force ?? false, inputs);
  }
  // The weights first: they may carry the normalisation they were trained with.
  const weightsPath = (await localWeights(values.weights)) ?? model.defaultWeights();
  const stored = storedTraining(weightsPath).normalisation;
  let ds: TrainData;
  if (isIdxSource(values.data)) {
    if (stored && stored.mean.length !== 1)
      throw new CliError(
        `${weightsPath}: the weights were trained on ${stored.mean.length}-channel images, not IDX's one`,
      );
    // The weights' own normalisation when they carry one, else the training split's statistics.
    const data = idxData(values.data, stored);
    ds = tensorData(values.split === 'test' ? data.test : data.train);
  } else {
    if (values.split !== 'test') throw new UsageError('eval: an image folder has one split');
    // The model's own transform: a timm folder's, else ImageNet's at --input-size (default 64).
    const [size] = values['input-size'] ? parseSize(values['input-size'], '--input-size') : [64];
    const cfg = photoTransform(model.pretrained()?.preprocess, size!, !!values['input-size']);
    ds = await photoFolder(values.data, cfg, false);
  }
  const classes = ds.classes.length;
  const { graph, label } = model.load([batch, ...ds.shape], { numClasses: classes, anyModel: true });
  const outputs = graph.tensors[graph.outputs[0]!]!.shape[1];
  if (outputs !== classes)
    throw new UsageError(`eval: ${label} has ${outputs} outputs but ${values.data} has ${classes} classes`);
  const { weights } = await commandWeights(graph, model, { ...values, weights: weightsPath }, inputs, err);
  const backend = await loadBackend(values.backend!);
  const exe = await backend.compile(graph, weights);
  let report: ClassificationReport;
  try {
    report = await evaluate(
      async (x) => (await exe.run({ [graph.inputs[0]!.name]: x }))[graph.outputs[0]!]!.data,
      ds,
      batch,
    );
  } finally {
    exe.dispose();
  }
  if (values.svg)
    writeFileAtomic(
      values.svg,
      new TextEncoder().encode(confusionSvg(report, ds.classes)),
      values.force ?? false,
      inputs,
    );
  if (values.json) {
    out(JSON.stringify(report));
    return 0;
  }
  out(
    `${label} on ${values.data} (${values.split}, ${report.n} images): top-1 ${pct(report.top1)}, top-5 ${pct(report.top5)}`,
  );
  const width = Math.max(...ds.classes.map((c) => c.length));
  out(`${'class'.padEnd(width)}  accuracy  confusion (predicted ->)`);
  for (const [k, c] of ds.classes.entries())
    out(
      `${c.padEnd(width)}  ${pct(report.per_class[k]!).padStart(8)}  ${report.confusion[k]!.map((v) => String(v).padStart(5)).join('')}`,
    );
  return 0;
}
