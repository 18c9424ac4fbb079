import { configReference, createModel, NO_COST_LIMITS, summarize, ZOO } from '@cardinal/core';
import { parse } from '../args.js';
import { formatCount, table } from '../ui.js';

export const modelsHelp = `cardinal models [--describe] [--json]
  The model zoo: every ResNet-family entrypoint of timm by its name and Cardinal's own, with
  parameters and MACs at each model's own input size (224x224 unless it says), and the weights
  that ship with a model (loaded by its name, with their test accuracy).
  --describe: every config knob (timm's names, as a config.json or meta.json writes them), its
  default and what it does, from the one declaration the builder reads.`;

export async function modelsCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values } = parse('models', argv, { json: { type: 'boolean' }, describe: { type: 'boolean' } });
  if (values.help) {
    out(modelsHelp);
    return 0;
  }
  if (values.describe) {
    const knobs = configReference();
    if (values.json) out(JSON.stringify({ knobs }));
    else
      out(
        table(
          ['knob', 'default', 'what it does'],
          knobs.map((k) => [
            k.name,
            k.default === undefined ? '-' : JSON.stringify(k.default),
            k.description,
          ]),
        ),
      );
    return 0;
  }
  const rows = ZOO.map((e) => {
    // Listing builds no weights: the largest (resnext101_32x32d, 469M) is counted too.
    const graph = createModel(e.name, { limits: NO_COST_LIMITS });
    const s = summarize(graph);
    return {
      name: e.name,
      family: e.family,
      params: s.params,
      macs: s.macs,
      input: graph.inputs[0]!.shape.slice(1),
      source: e.source,
      ...(e.weights ? { weights: e.weights } : {}),
    };
  });
  if (values.json) {
    out(JSON.stringify({ models: rows }));
    return 0;
  }
  out(
    table(
      ['model', 'family', 'params', 'GMACs', 'input', 'shipped weights'],
      rows.map((r) => [
        r.name,
        r.family,
        formatCount(r.params),
        (r.macs / 1e9).toFixed(r.macs < 1e7 ? 4 : 2),
        r.input.join('x'),
        r.weights ? `${r.weights.dataset}, test top-1 ${(100 * r.weights.top1).toFixed(2)}%` : '-',
      ]),
      [2, 3],
    ),
  );
  return 0;
}
