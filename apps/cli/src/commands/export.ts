import { basename, extname, join } from 'node:path';
import { graphToDocument } from '@cardinal/core';
import { checkOutputPath, isFolder, saveModelFolder, writeFileAtomic } from '@cardinal/pretrained';
import { writeTritonModel } from '@cardinal/serve';
import { parse, parseIntFlag, parsePositiveInt, parseSize } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { readLabels } from '../labels.js';
import { commandWeights, ModelSource, openSource } from '../model-source.js';

import { PREPROCESS_OPTIONS, preprocessConfig } from './preprocess.js';

export const exportHelp = `cardinal export <model | config.json | folder | model.onnx | graph.json> --format onnx|folder|triton|graph --out model.onnx|dir|graph.json [--weights W [--weights-key K]]
                [--input-size H[,W]] [--keep-batchnorm] [--static-batch] [--features [--out-indices 1,2,3,4]] [--force] [--json]
                [--interpolation I] [--crop-pct C] [--mean M] [--std S] [--labels labels.txt]   (folder)
  onnx: an ONNX file (opset 17, IR 8, symbolic batch 'N', BatchNorm folded). --features: timm's
  features_only model instead, one output per map (feature.<index>; 0 = act1, then layer1..N).
  folder: timm's Hugging Face layout, config.json + model.safetensors, which timm loads with
  create_model('hf-hub:...') or pretrained_cfg_overlay=dict(file=...); files in it are kept without --force.
  triton: an NVIDIA Triton model repository entry under --out (a folder): <name>/config.pbtxt
  (platform onnxruntime_onnx, dynamic batching) and <name>/1/model.onnx; [--name N] [--max-batch 8].
  graph: the architecture as a Cardinal graph document (JSON: nodes, attributes, parameter shapes) to
  read or edit; it is a model everywhere a model is accepted, with --weights (safetensors, a
  checkpoint, or the .onnx file it came from).`;

export async function exportCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('export', argv, {
    format: { type: 'string', default: 'onnx' },
    out: { type: 'string' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    'keep-batchnorm': { type: 'boolean' },
    'static-batch': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    ...PREPROCESS_OPTIONS,
    labels: { type: 'string' },
    name: { type: 'string' },
    'max-batch': { type: 'string' },
    features: { type: 'boolean' },
    'out-indices': { type: 'string' },
  });
  if (values.help) {
    out(exportHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('export: expected one model name or config file');
  if (!['onnx', 'folder', 'triton', 'graph'].includes(values.format ?? ''))
    throw new UsageError(
      `export: unknown --format '${values.format}' (supported: onnx, folder, triton, graph)`,
    );
  if (!values.out) throw new UsageError('export: --out FILE is required');
  if (values.format === 'graph') return exportGraph(await openSource(positionals[0]!), values, out);
  if (values.format === 'folder') return exportFolder(await openSource(positionals[0]!), values, out, err);
  if (values.format === 'triton') return exportTriton(await openSource(positionals[0]!), values, out, err);
  if (extname(values.out).toLowerCase() !== '.onnx')
    throw new UsageError(`export: --out must end in .onnx for --format onnx, got '${values.out}'`);
  const spec = positionals[0]!;
  const model = await openSource(spec);
  // Inputs of this command: an output path that is one of them is refused, even with --force.
  const inputs: (string | undefined)[] = [...model.files, values.weights];
  checkOutputPath(values.out, values.force ?? false, inputs);
  const declared = model.declaredInputShape();
  const [h, w] = values['input-size']
    ? parseSize(values['input-size'], '--input-size')
    : [declared?.[2] ?? 224, declared?.[3] ?? 224];
  if (values['out-indices'] && !values.features)
    throw new UsageError('export: --out-indices needs --features');
  const outIndices = values['out-indices']
    ? values['out-indices'].split(',').map((v) => parseIntFlag(v.trim(), '--out-indices'))
    : model.declaredOutIndices();
  const shape = [1, declared?.[1] ?? model.channels(), h, w];
  const picked = outIndices ? { outIndices } : {};
  // The weights load (strictly) into the model with its head; a feature extractor keeps its part.
  const whole = model.load(shape, values.features ? { features: { ...picked, head: true } } : {});
  const built = values.features ? model.load(shape, { features: picked }) : whole;
  const { graph, label } = built;
  const { weights: loaded } = await commandWeights(whole.graph, model, values, inputs, err);
  const weights = new Map([...loaded].filter(([k]) => Object.hasOwn(graph.params, k)));
  let onnx: typeof import('@cardinal/backend-onnx');
  try {
    onnx = await import('@cardinal/backend-onnx');
  } catch {
    throw new CliError('ONNX export needs the package @cardinal/backend-onnx');
  }
  const bytes = onnx.exportOnnx(graph, weights, {
    foldBatchNorm: !values['keep-batchnorm'],
    batchDim: values['static-batch'] ? null : 'N',
    ...(values.features
      ? { outputNames: (outIndices ?? built.featureInfo!.map((_, i) => i)).map((i) => `feature.${i}`) }
      : {}),
  });
  writeFileAtomic(values.out, bytes, values.force ?? false, inputs);
  if (values.json) {
    out(
      JSON.stringify({
        model: label,
        format: 'onnx',
        out: values.out,
        bytes: bytes.byteLength,
        opset: onnx.OPSET,
        ir_version: onnx.IR_VERSION,
      }),
    );
  } else {
    out(
      `wrote ${values.out}: ${label}, ONNX opset ${onnx.OPSET}, IR ${onnx.IR_VERSION}, ${(bytes.byteLength / 1e6).toFixed(1)} MB`,
    );
  }
  return 0;
}

type ExportValues = Partial<
  Record<
    | 'out'
    | 'weights'
    | 'weights-key'
    | 'input-size'
    | 'interpolation'
    | 'crop-pct'
    | 'mean'
    | 'std'
    | 'labels',
    string
  >
> & { force?: boolean; json?: boolean };

/** --format folder: timm's layout, written by @cardinal/pretrained's saveModelFolder. */
async function exportFolder(
  model: ModelSource,
  values: ExportValues,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const dir = values.out!;
  const force = values.force ?? false;
  const inputs: (string | undefined)[] = [...model.files, values.weights, values.labels];
  // Refused before the weights are read: an existing file in the folder, or a missing parent.
  if (isFolder(dir))
    for (const f of ['config.json', 'model.safetensors']) checkOutputPath(join(dir, f), force, inputs);
  else checkOutputPath(dir, false, inputs);
  const preprocess = preprocessConfig(model, values);
  const { graph, label, resnet } = model.load([1, preprocess.channels, ...preprocess.inputSize]);
  if (!resnet) throw new CliError(`${model.spec}: a single block cannot be exported as a model folder`);
  const classes = resnet.numClasses;
  const labelNames = values.labels ? readLabels(values.labels) : model.pretrained()?.labelNames;
  if (labelNames && labelNames.length !== classes)
    throw new CliError(`${values.labels ?? model.spec}: ${labelNames.length} labels for ${classes} classes`);
  const { weights } = await commandWeights(graph, model, values, inputs, err);
  const written = saveModelFolder(
    dir,
    { graph, weights, resnet, preprocess, ...(labelNames ? { labelNames } : {}) },
    { force, inputs },
  );
  if (values.json) out(JSON.stringify({ model: label, format: 'folder', out: dir, files: written }));
  else out(`wrote ${dir}: ${label} as ${written.map((p) => basename(p)).join(' + ')} (timm layout)`);
  return 0;
}

/** --format triton: a Triton model repository entry (config.pbtxt + <version>/model.onnx). */
async function exportTriton(
  model: ModelSource,
  values: ExportValues & { name?: string; 'max-batch'?: string },
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const maxBatch = values['max-batch'] ? parsePositiveInt(values['max-batch'], '--max-batch') : 8;
  const inputs: (string | undefined)[] = [...model.files, values.weights];
  const declared = model.declaredInputShape();
  const [h, w] = values['input-size']
    ? parseSize(values['input-size'], '--input-size')
    : [declared?.[2] ?? 224, declared?.[3] ?? 224];
  const { graph, label } = model.load([1, declared?.[1] ?? model.channels(), h, w]);
  const name = values.name ?? ModelSource.shortName(label);
  const { weights } = await commandWeights(graph, model, values, inputs, err);
  const onnx = await import('@cardinal/backend-onnx').catch(() => {
    throw new CliError('Triton export needs the package @cardinal/backend-onnx');
  });
  const written = writeTritonModel(values.out!, graph, onnx.exportOnnx(graph, weights, { batchDim: 'N' }), {
    name,
    maxBatch,
    force: values.force ?? false,
    inputs,
  });
  if (values.json)
    out(JSON.stringify({ model: label, format: 'triton', out: values.out, name, files: written }));
  else out(`wrote ${written.join(', ')} (Triton, onnxruntime_onnx, max_batch_size ${maxBatch})`);
  return 0;
}

/**
 * The architecture as a Cardinal graph document (JSON), to read or edit: every node with its
 * resolved attributes and module path, every parameter's shape. The weights stay where they
 * are: run the document with `--weights` (safetensors, a checkpoint, or the .onnx it came from).
 */
async function exportGraph(
  model: ModelSource,
  values: { out?: string; force?: boolean; json?: boolean; 'input-size'?: string },
  out: (s: string) => void,
): Promise<number> {
  const file = values.out!;
  if (extname(file).toLowerCase() !== '.json')
    throw new UsageError(`export: --out must end in .json for --format graph, got '${file}'`);
  checkOutputPath(file, values.force ?? false, model.files);
  const declared = model.declaredInputShape();
  const inputShape = values['input-size']
    ? [1, declared?.[1] ?? model.channels(), ...parseSize(values['input-size'], '--input-size')]
    : declared;
  const { graph, label } = model.load(inputShape);
  const text = `${JSON.stringify(graphToDocument(graph), null, 1)}\n`;
  writeFileAtomic(file, new TextEncoder().encode(text), values.force ?? false, model.files);
  if (values.json)
    out(
      JSON.stringify({
        model: label,
        format: 'graph',
        out: file,
        nodes: graph.nodes.length,
        bytes: text.length,
      }),
    );
  else
    out(
      `wrote ${file}: ${label}, ${graph.nodes.length} nodes, ${Object.keys(graph.params).length} parameters (run it with --weights)`,
    );
  return 0;
}
