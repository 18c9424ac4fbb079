import { createModel, summarize, ZOO } from '@cardinal/core';
import { parse } from '../args.js';
import { formatCount, table } from '../ui.js';

export const modelsHelp = `cardinal models [--json]
  The model zoo with parameters and MACs at 224x224.`;

export async function modelsCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values } = parse('models', argv, { json: { type: 'boolean' } });
  if (values.help) {
    out(modelsHelp);
    return 0;
  }
  const rows = ZOO.map((e) => {
    const s = summarize(createModel(e.name));
    return { name: e.name, family: e.family, params: s.params, macs: s.macs, source: e.source };
  });
  if (values.json) {
    out(JSON.stringify({ models: rows }));
    return 0;
  }
  out(
    table(
      ['model', 'family', 'params', 'GMACs@224'],
      rows.map((r) => [r.name, r.family, formatCount(r.params), (r.macs / 1e9).toFixed(2)]),
      [2, 3],
    ),
  );
  return 0;
}
