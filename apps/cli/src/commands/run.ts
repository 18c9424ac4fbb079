import {
  CardinalError,
  checkTensorCost,
  classify,
  RANDOM_WEIGHTS_WARNING,
  randomNormal,
  randomWeightsFields,
  type Tensor,
  writeSafetensors,
} from '@cardinal/core';
import { checkOutputPath, writeFileAtomic } from '@cardinal/pretrained';
import { parse, parseIntFlag, parsePositiveInt, parseShape, parseSize, parseThreads } from '../args.js';
import { BACKEND_NAMES, loadBackend } from '../backends.js';
import { CliError, UsageError } from '../errors.js';
import { commandWeights, costLimits, type ModelSource, openSource } from '../model-source.js';
import { outputFormat, readTensorFile, writeTensorFile } from '../tensor-io.js';
import { progressBar } from '../ui.js';

export const runHelp = `cardinal run <model | config.json | model.onnx> [--backend ${BACKEND_NAMES.join('|')} (default onnx)] [--weights W.safetensors|W.pth [--weights-key K]]
             (--input X.npy | --input X.bin --shape N,C,H,W | --random-input [--input-size H[,W]] [--batch N])
             [--out Y.npy|Y.bin] [--features F.safetensors [--out-indices 0,1,2,3,4]]
             [--force] [--seed S] [--threads T] [--tfjs-backend node-gpu|node|wasm|cpu] [--json]
  Runs a model on one input. Without --weights the weights are a deterministic initialisation.
  Without --out it prints the output shape and the top-5 classes per sample.
  --features writes the feature maps of timm's features_only model (0 = the stem's act1, then
  layer1..layerN; default every map, or a meta.json's features.out_indices) as safetensors under
  feature.<index>, and prints each map's module, channels and reduction (timm's feature_info).`;

export async function runCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('run', argv, {
    backend: { type: 'string', default: 'onnx' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    input: { type: 'string' },
    shape: { type: 'string' },
    'random-input': { type: 'boolean' },
    'input-size': { type: 'string' },
    batch: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    'tfjs-backend': { type: 'string' },
    out: { type: 'string' },
    features: { type: 'string' },
    'out-indices': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    out(runHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('run: expected one model name or config file');
  if (!values.input && !values['random-input'])
    throw new UsageError('run: give --input FILE or --random-input');
  if (values.input && values['random-input'])
    throw new UsageError('run: --input and --random-input are exclusive');
  const spec = positionals[0]!;
  const model = await openSource(spec);
  // Inputs of this command: an output path that is one of them is refused, even with --force.
  const inputs: (string | undefined)[] = [...model.files, values.weights, values.input];
  // Check everything the user named before any long work starts.
  const threads = values.threads ? parseThreads(values.threads) : undefined;
  const tfjsRuntime = values['tfjs-backend'];
  if (tfjsRuntime !== undefined) {
    if (values.backend !== 'tfjs') throw new UsageError('run: --tfjs-backend needs --backend tfjs');
    if (!['node-gpu', 'node', 'wasm', 'cpu'].includes(tfjsRuntime)) {
      throw new UsageError(`run: unknown --tfjs-backend '${tfjsRuntime}' (node-gpu, node, wasm, cpu)`);
    }
  }
  const backend = await loadBackend(values.backend!);
  if (values.out) {
    outputFormat(values.out);
    checkOutputPath(values.out, values.force ?? false, inputs);
  }
  if (values['out-indices'] && !values.features)
    throw new UsageError('run: --out-indices needs --features FILE');
  if (values.features) {
    if (!/\.safetensors$/i.test(values.features))
      throw new UsageError(`run: --features writes safetensors, got '${values.features}'`);
    checkOutputPath(values.features, values.force ?? false, [...inputs, values.out]);
  }
  const outIndices = values['out-indices']
    ? values['out-indices'].split(',').map((v) => parseIntFlag(v.trim(), '--out-indices'))
    : model.declaredOutIndices();
  const shape = values.shape ? parseShape(values.shape) : undefined;
  let input: Tensor;
  const inputName = values.input ?? 'random input';
  if (values.input) {
    input = readTensorFile(values.input, shape);
  } else {
    const declared = model.declaredInputShape();
    const [h, w] = values['input-size']
      ? parseSize(values['input-size'], '--input-size')
      : [declared?.[2] ?? 224, declared?.[3] ?? 224];
    const n = values.batch ? parsePositiveInt(values.batch, '--batch') : 1;
    // An .onnx model's (or graph document's) input may be of any rank: its declared shape, with the batch asked for.
    const randomShape =
      shape ??
      (model.anyRank && declared && declared.length !== 4
        ? [n, ...declared.slice(1)]
        : [n, declared?.[1] ?? model.channels(), h, w]);
    // Refused before the allocation, not by it.
    checkTensorCost('random input', randomShape, costLimits());
    input = randomNormal(randomShape, values.seed ? parseIntFlag(values.seed, '--seed') : 0);
  }
  // Images are [N, C, H, W]; an .onnx model or a graph document takes the rank it declares.
  const rank = model.anyRank ? (model.declaredInputShape()?.length ?? 4) : 4;
  if (model.anyRank && input.shape.length !== rank) {
    const Err = values.shape ? UsageError : CliError;
    throw new Err(`${inputName}: the model takes a ${rank}-D input, got [${input.shape.join(', ')}]`);
  }
  if (input.shape.length !== 4 && !model.anyRank) {
    // A --shape the user typed is a usage mistake; a file of another rank is bad input.
    const Err = values.shape ? UsageError : CliError;
    throw new Err(`${inputName}: input must be 4-D [N, C, H, W], got [${input.shape.join(', ')}]`);
  }
  if (!input.shape.every((d) => d > 0))
    throw new CliError(`${inputName}: input shape [${input.shape.join(', ')}] has an empty dimension`);
  let built: ReturnType<ModelSource['load']>;
  try {
    built = model.load(
      input.shape,
      values.features ? { features: { head: true, ...(outIndices ? { outIndices } : {}) } } : {},
    );
  } catch (e) {
    // A shape the model cannot take: name the input it came from.
    if (e instanceof CardinalError && /^input shape /.test(e.message))
      throw new CliError(`${inputName}: ${e.message}`);
    throw e;
  }
  const { graph, label } = built;
  const { weights, initialised } = await commandWeights(graph, model, values, inputs, err);
  const bar = values.json ? { update() {}, stop() {} } : progressBar(`${label} on ${backend.name}`);
  const exe = await backend.compile(graph, weights, {
    onProgress: (d: number, t: number) => bar.update(d, t),
    ...(threads ? { threads } : {}),
    ...(tfjsRuntime ? { runtime: tfjsRuntime } : {}),
  });
  let output: Tensor;
  let maps: Tensor[] = [];
  const t0 = performance.now();
  try {
    const results = await exe.run({ [graph.inputs[0]!.name]: input });
    // With --features the graph returns the maps, then the logits.
    const outs = graph.outputs.map((o) => results[o]!);
    output = outs.at(-1)!;
    if (values.features) maps = outs.slice(0, -1);
  } finally {
    bar.stop();
  }
  const ms = performance.now() - t0;
  const described = exe.describe();
  exe.dispose();
  if (values.out) writeTensorFile(values.out, output, values.force ?? false, inputs);
  const featureRows = values.features
    ? writeFeatures(values.features, maps, built, outIndices, values.force ?? false, inputs)
    : [];
  // The names classify and the library use: index, label, prob, logit.
  const top = output.shape.length === 2 ? classify(output, { top: 5 }) : undefined;
  if (values.json) {
    out(
      JSON.stringify({
        model: label,
        backend: backend.name,
        runtime: described,
        input_shape: input.shape,
        output_shape: output.shape,
        time_ms: Math.round(ms * 10) / 10,
        top5: top ?? null,
        ...randomWeightsFields(initialised),
        out: values.out ?? null,
        ...(values.features ? { features: featureRows, features_out: values.features } : {}),
      }),
    );
    return 0;
  }
  for (const r of featureRows)
    out(`${r.key}: ${r.module} (${r.num_chs} channels, reduction ${r.reduction}) ${r.shape.join('x')}`);
  if (values.features) out(`wrote ${values.features}`);
  out(
    `${label} on ${described}: input ${input.shape.join('x')} -> output ${output.shape.join('x')} in ${ms.toFixed(0)} ms`,
  );
  if (values.out) out(`wrote ${values.out}`);
  else if (top) {
    if (initialised) out(RANDOM_WEIGHTS_WARNING);
    for (const [i, row] of top.entries()) {
      out(`sample ${i}: top-${row.length}`);
      for (const r of row)
        out(
          `  ${(r.prob * 100).toFixed(2).padStart(6)}%  ${r.label} (${r.index}, logit ${r.logit.toFixed(4)})`,
        );
    }
  } else {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of output.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    out(`output range [${min.toFixed(4)}, ${max.toFixed(4)}]`);
  }
  return 0;
}

/** Writes the maps as safetensors under feature.<out index>; returns what each map is (timm's feature_info). */
function writeFeatures(
  file: string,
  maps: Tensor[],
  built: ReturnType<ModelSource['load']>,
  outIndices: number[] | undefined,
  force: boolean,
  inputs: (string | undefined)[],
) {
  const info = built.featureInfo ?? [];
  const indices = outIndices ?? info.map((_, i) => i);
  const entries = maps.map((t, i) => ({
    name: `feature.${indices[i]}`,
    shape: t.shape,
    dtype: 'F32' as const,
    data: t.data as Float32Array,
  }));
  writeFileAtomic(file, writeSafetensors(entries), force, inputs);
  return maps.map((t, i) => {
    const m = info[indices[i]!]!;
    return {
      key: `feature.${indices[i]}`,
      module: m.module,
      num_chs: m.numChs,
      reduction: m.reduction,
      shape: t.shape,
    };
  });
}
