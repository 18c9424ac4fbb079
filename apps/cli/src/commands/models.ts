import { createModel, summarize, ZOO } from '@cardinal/core';
import { parse } from '../args.js';
import { formatCount, table } from '../ui.js';

export const modelsHelp = `cardinal models [--json]
  The model zoo: parameters and MACs at each model's own input size (224x224 unless it says),
  and the weights that ship with a model (loaded by its name, with their test accuracy).`;

export async function modelsCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values } = parse('models', argv, { json: { type: 'boolean' } });
  if (values.help) {
    out(modelsHelp);
    return 0;
  }
  const rows = ZOO.map((e) => {
    const graph = createModel(e.name);
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
