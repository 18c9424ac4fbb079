import { summarize, summarizeStages } from '@cardinal/core';
import { parse, parseSize } from '../args.js';
import { UsageError } from '../errors.js';
import { openSource } from '../model-source.js';
import { formatCount, table } from '../ui.js';

export const summaryHelp = `cardinal summary <model | config.json | model.onnx> [--input-size H[,W]] [--batch N] [--json]
  The layer table (module path, op, output shape, parameters) and totals.
  params counts trainable parameters as PyTorch does; macs are conv and linear multiply-adds.`;

export async function summaryCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parse('summary', argv, {
    json: { type: 'boolean' },
    'input-size': { type: 'string' },
  });
  if (values.help) {
    out(summaryHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('summary: expected one model name or config file');
  const spec = positionals[0]!;
  let inputShape: number[] | undefined;
  // Only shapes are built: the larger bound for models that make no weights applies.
  const model = await openSource(spec, 'describe');
  const declared = model.declaredInputShape();
  if (values['input-size']) {
    const [h, w] = parseSize(values['input-size'], '--input-size');
    inputShape = [1, declared?.[1] ?? model.channels(), h, w];
  } else if (declared) {
    inputShape = [1, ...declared.slice(1)];
  }
  const { graph, label } = model.load(inputShape);
  const s = summarize(graph);
  if (values.json) {
    out(
      JSON.stringify({
        model: label,
        params: s.params,
        macs: s.macs,
        input_shape: s.inputShape,
        output_shape: s.outputShape,
        stages: summarizeStages(s),
        layers: s.layers.map((l) => ({
          path: l.path,
          op: l.op,
          output_shape: l.outputShape,
          params: l.params,
          macs: l.macs,
        })),
      }),
    );
    return 0;
  }
  out(
    table(
      ['module', 'op', 'output shape', 'params'],
      s.layers.map((l) => [l.path, l.op, l.outputShape.join('x'), l.params ? formatCount(l.params) : '']),
      [3],
    ),
  );
  out('');
  out(
    table(
      ['stage', 'params', 'MACs'],
      summarizeStages(s).map((st) => [st.stage, formatCount(st.params), formatCount(st.macs)]),
      [1, 2],
    ),
  );
  out('');
  out(
    `${label}: ${formatCount(s.params)} parameters, ${(s.macs / 1e9).toFixed(3)} GMACs at ${s.inputShape.join('x')}`,
  );
  return 0;
}
