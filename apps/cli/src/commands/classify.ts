import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { RANDOM_WEIGHTS_WARNING, randomWeightsFields, writeNpy } from '@cardinal/core';
import {
  checkOutputPath,
  classifyFiles,
  type ImageClassification,
  imageChannels,
  isFolder,
  openModel,
  writeFileAtomic,
} from '@cardinal/pretrained';
import { parse, parsePositiveInt, parseThreads } from '../args.js';
import { BACKEND_NAMES, loadBackend } from '../backends.js';
import { CliError, UsageError } from '../errors.js';
import { readLabels } from '../labels.js';
import { openSource, sourceOptions } from '../model-source.js';
import { progressBar } from '../ui.js';

import { PREPROCESS_OPTIONS, preprocessOverrides } from './preprocess.js';

export const classifyHelp = `cardinal classify <image | folder>... --model <model | config.json | folder | model.onnx | hf-hub:org/name>
                  [--weights W.pth|W.safetensors|folder|https://...|hf-hub:org/name [--weights-key K]]
                  [--backend ${BACKEND_NAMES.join('|')} (default onnx)] [--top 5] [--batch-size 16] [--threads T]
                  [--labels imagenet|labels.txt] [--json | --csv out.csv] [--features feats.npy] [--force]
                  [--input-size S] [--interpolation bilinear|bicubic|nearest] [--crop-pct C] [--mean M] [--std S]
  The top classes of each image with label, softmax probability, index and logit. Folders are
  read for images (PNG, JPEG, WebP, ...), sorted by path. --features writes the pooled features
  [N, C] as .npy, with the file order beside it (feats.txt).`;

const IMAGE_EXTENSIONS = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.webp',
  '.bmp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);

/** Images named on the command line: files as given, folders searched for images (sorted). */
function imageFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const p of paths) {
    if (isFolder(p)) {
      const before = out.length;
      walk(p);
      if (out.length === before) throw new CliError(`${p}: no images in the folder`);
    } else out.push(p);
  }
  return out;
}

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(results: readonly ImageClassification[]): string {
  const rows = ['file,rank,index,label,prob,logit'];
  for (const r of results)
    for (const [rank, t] of r.top.entries())
      rows.push([r.file, rank + 1, t.index, t.label, t.prob, t.logit].map(csvField).join(','));
  return `${rows.join('\n')}\n`;
}

export async function classifyCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('classify', argv, {
    model: { type: 'string' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    backend: { type: 'string', default: 'onnx' },
    top: { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    labels: { type: 'string' },
    json: { type: 'boolean' },
    csv: { type: 'string' },
    features: { type: 'string' },
    force: { type: 'boolean' },
    ...PREPROCESS_OPTIONS,
  });
  if (values.help) {
    out(classifyHelp);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('classify: expected one or more images or folders');
  if (!values.model) throw new UsageError('classify: --model is required');
  if (values.json && values.csv) throw new UsageError('classify: --json and --csv are exclusive');
  if (values.csv && !values.csv.toLowerCase().endsWith('.csv'))
    throw new UsageError(`classify: --csv must end in .csv, got '${values.csv}'`);
  if (values.features && !values.features.toLowerCase().endsWith('.npy'))
    throw new UsageError(`classify: --features must end in .npy, got '${values.features}'`);
  const top = values.top ? parsePositiveInt(values.top, '--top') : 5;
  const batchSize = values['batch-size'] ? parsePositiveInt(values['batch-size'], '--batch-size') : 16;
  const threads = values.threads ? parseThreads(values.threads) : undefined;
  const force = values.force ?? false;
  const backend = await loadBackend(values.backend!);
  const files = imageFiles(positionals);
  const featureOrder = values.features?.replace(/\.npy$/i, '.txt');
  const source = await openSource(values.model);
  // The folders named too: an output inside an image folder is refused.
  const read: (string | undefined)[] = [
    ...positionals,
    ...files,
    ...source.files,
    values.weights,
    values.labels,
  ];
  for (const o of [values.csv, values.features, featureOrder]) if (o) checkOutputPath(o, force, read);
  // openModel applies the weights' stored normalisation (what `cardinal train` made them with,
  // on whole images) and class names; --mean, --std, --crop-pct and --labels still win.
  const opened = await openModel(source, {
    ...sourceOptions(),
    ...(values.weights ? { weights: values.weights } : {}),
    ...(values['weights-key'] ? { weightsKey: values['weights-key'] } : {}),
    ...(values.json ? {} : { note: err }),
    preprocess: preprocessOverrides(values, imageChannels(source)),
    ...(values.labels ? { labels: readLabels(values.labels), labelsSource: values.labels } : {}),
  });
  const { graph, weights, labels } = opened;
  const cfg = opened.preprocess;
  const label = opened.description.name;
  // The weights file openModel read (downloaded, or a folder's) is an input too.
  const inputs = [...read, ...opened.files];
  const bar = values.json
    ? { update() {}, stop() {} }
    : progressBar(`classifying on ${backend.name}`, 'images');
  let result: Awaited<ReturnType<typeof classifyFiles>>;
  try {
    result = await classifyFiles(files, { graph, weights }, backend, {
      preprocess: cfg,
      ...(labels ? { labels } : {}),
      top,
      batchSize,
      features: values.features !== undefined,
      ...(threads ? { compile: { threads } } : {}),
      onProgress: files.length > batchSize ? (d, t) => bar.update(d, t) : undefined,
    });
  } finally {
    bar.stop();
  }
  if (values.features && result.features && featureOrder) {
    writeFileAtomic(values.features, writeNpy(result.features), force, inputs);
    writeFileAtomic(featureOrder, Buffer.from(`${files.join('\n')}\n`), force, inputs);
  }
  if (values.csv) writeFileAtomic(values.csv, Buffer.from(toCsv(result.results)), force, inputs);
  const random = opened.description.weights === 'initialised';
  if (values.json) {
    out(
      JSON.stringify({
        model: label,
        backend: backend.name,
        ...randomWeightsFields(random),
        results: result.results,
      }),
    );
    return 0;
  }
  const rate = files.length / result.seconds.classify;
  if (random) out(RANDOM_WEIGHTS_WARNING);
  for (const r of result.results) {
    out(r.file);
    for (const [i, t] of r.top.entries())
      out(`  ${i + 1}. ${(t.prob * 100).toFixed(2).padStart(6)}%  ${t.label} (${t.index})`);
  }
  out(`${files.length} image(s), ${label} on ${backend.name}, ${rate.toFixed(1)} images/s`);
  if (values.features)
    out(`wrote ${values.features} [${result.features!.shape.join(', ')}] and ${featureOrder}`);
  if (values.csv) out(`wrote ${values.csv}`);
  return 0;
}
