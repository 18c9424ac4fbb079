import { extname } from 'node:path';
import { parse, parseSize } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { checkOutputPath, writeFileAtomic } from '../files.js';
import { ModelSource } from '../model-source.js';
import { weightsFor } from '../weights.js';

export const exportHelp = `cardinal export <model | config.json> --format onnx --out model.onnx [--weights W.safetensors|W.pth [--weights-key K]]
                [--input-size H[,W]] [--keep-batchnorm] [--static-batch] [--force] [--json]
  Writes the model as an ONNX file (opset 17, IR 8, symbolic batch 'N', BatchNorm folded).`;

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
    'input-size': { type: 'string' },
    'keep-batchnorm': { type: 'boolean' },
    'static-batch': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    out(exportHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('export: expected one model name or config file');
  if (values.format !== 'onnx')
    throw new UsageError(`export: unknown --format '${values.format}' (supported: onnx)`);
  if (!values.out) throw new UsageError('export: --out FILE is required');
  if (extname(values.out).toLowerCase() !== '.onnx')
    throw new UsageError(`export: --out must end in .onnx for --format onnx, got '${values.out}'`);
  const spec = positionals[0]!;
  const model = new ModelSource(spec);
  // Inputs of this command: an output path that is one of them is refused, even with --force.
  const inputs = [model.isFile ? spec : undefined, values.weights];
  checkOutputPath(values.out, values.force ?? false, inputs);
  const declared = model.declaredInputShape();
  const [h, w] = values['input-size']
    ? parseSize(values['input-size'], '--input-size')
    : [declared?.[2] ?? 224, declared?.[3] ?? 224];
  const { graph, label } = model.load([1, declared?.[1] ?? 3, h, w]);
  const weights = weightsFor(graph, {
    path: values.weights,
    weightsKey: values['weights-key'],
    note: values.json ? undefined : err,
  });
  let onnx: typeof import('@cardinal/backend-onnx');
  try {
    onnx = await import('@cardinal/backend-onnx');
  } catch {
    throw new CliError('ONNX export needs the package @cardinal/backend-onnx');
  }
  const bytes = onnx.exportOnnx(graph, weights, {
    foldBatchNorm: !values['keep-batchnorm'],
    batchDim: values['static-batch'] ? null : 'N',
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
