// A training run's folder: checkpoint.safetensors (weights, optimiser state, epoch), metrics.jsonl
// (one line per epoch) and curves.svg, each rewritten atomically as the run goes.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EpochRow,
  type Graph,
  parseSafetensorsHeader,
  readSafetensors,
  type Tensor,
  type WeightMap,
  writeSafetensors,
} from '@cardinal/core';
import { writeFileAtomic } from '@cardinal/pretrained';
import { CliError } from '../errors.js';

export type { EpochRow } from '@cardinal/core';

/** What a checkpoint records besides tensors: where the run stands and what fixes its data order. */
export interface CheckpointMeta {
  epoch: number;
  steps: number;
  /** The options that decide the data order and the batches: a resume must give the same. */
  run: Record<string, string | number | boolean>;
}

const CHECKPOINT = 'checkpoint.safetensors';
const OPTIM = 'optimizer.';

/**
 * Checks the folder before anything is computed: a new run needs it absent (or --force); a
 * resume needs its checkpoint. `create` makes it (when the run starts).
 */
export function openRunFolder(
  dir: string,
  options: { resume: boolean; force: boolean; create: boolean },
): void {
  const exists = existsSync(dir);
  if (options.resume) {
    if (!exists || !existsSync(join(dir, CHECKPOINT)))
      throw new CliError(`${dir}: no ${CHECKPOINT} to resume from`);
    return;
  }
  if (exists && !statSync(dir).isDirectory()) throw new CliError(`${dir}: exists and is not a folder`);
  if (exists && !options.force)
    throw new CliError(`${dir}: the run folder exists (--resume continues it, --force starts it over)`);
  if (options.create) mkdirSync(dir, { recursive: true });
}

export function writeCheckpoint(
  dir: string,
  graph: Graph,
  weights: WeightMap,
  optimizer: { tensors: ReadonlyMap<string, Tensor>; steps: number },
  meta: CheckpointMeta,
): void {
  const tensors = [
    ...Object.entries(graph.params).flatMap(([key, spec]) => {
      const t = weights.get(key);
      return t
        ? [
            {
              name: key,
              shape: spec.shape,
              dtype: spec.dtype === 'int64' ? ('I64' as const) : ('F32' as const),
              data: t.data,
            },
          ]
        : [];
    }),
    ...[...optimizer.tensors].map(([k, t]) => ({
      name: `${OPTIM}${k}`,
      shape: t.shape,
      dtype: 'F32' as const,
      data: t.data,
    })),
  ];
  const bytes = writeSafetensors(tensors, { format: 'pt', 'cardinal.checkpoint': JSON.stringify(meta) });
  writeFileAtomic(join(dir, CHECKPOINT), bytes, true);
}

/** The checkpoint, checked against the model: the same parameters with the same shapes. */
export function readCheckpoint(
  dir: string,
  graph: Graph,
): { weights: WeightMap; optimizer: { tensors: Map<string, Tensor>; steps: number }; meta: CheckpointMeta } {
  const file = join(dir, CHECKPOINT);
  const bytes = readFileSync(file);
  const header = parseSafetensorsHeader(bytes, file);
  const raw = header.metadata['cardinal.checkpoint'];
  if (!raw) throw new CliError(`${file}: not a Cardinal training checkpoint`);
  const meta = JSON.parse(raw) as CheckpointMeta;
  const all = readSafetensors(bytes, file);
  const weights: WeightMap = new Map();
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of all) {
    if (k.startsWith(OPTIM))
      tensors.set(k.slice(OPTIM.length), {
        shape: [...t.shape],
        data: Float32Array.from(t.data as ArrayLike<number>),
      });
    else weights.set(k, t as Tensor);
  }
  const expected = Object.entries(graph.params).filter(
    ([k]) => weights.has(k) || !k.endsWith('num_batches_tracked'),
  );
  const bad = expected.find(([k, spec]) => weights.get(k)?.shape.join() !== spec.shape.join());
  const extra = [...weights.keys()].find((k) => !Object.hasOwn(graph.params, k));
  if (bad || extra)
    throw new CliError(
      `${file}: a checkpoint of another architecture (${bad ? `'${bad[0]}' is ${weights.get(bad[0]) ? `[${weights.get(bad[0])!.shape.join(', ')}], the model's [${bad[1].shape.join(', ')}]` : 'missing'}` : `'${extra}' is not in the model`})`,
    );
  return { weights, optimizer: { tensors, steps: meta.steps }, meta };
}

export function readMetrics(dir: string): EpochRow[] {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochRow);
}

/** Rewrites metrics.jsonl and curves.svg with every epoch so far (atomically, whole files). */
export function writeMetrics(dir: string, rows: readonly EpochRow[]): void {
  writeFileAtomic(
    join(dir, 'metrics.jsonl'),
    new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join('')),
    true,
  );
  writeFileAtomic(join(dir, 'curves.svg'), new TextEncoder().encode(curvesSvg(rows)), true);
}

/** Loss, and train and held-out accuracy, per epoch: two small line charts. */
export function curvesSvg(rows: readonly EpochRow[]): string {
  const W = 320;
  const H = 180;
  const pad = 36;
  const n = Math.max(rows.length, 2);
  const x = (i: number) => pad + ((W - 2 * pad) * i) / (n - 1);
  const chart = (
    title: string,
    series: { name: string; color: string; values: number[] }[],
    max: number,
    dx: number,
  ) => {
    const y = (v: number) => H - pad - ((H - 2 * pad) * v) / (max || 1);
    const lines = series
      .map(
        (s) =>
          `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"><title>${s.name}</title></polyline>`,
      )
      .join('');
    const legend = series
      .map(
        (s, i) => `<text x="${pad + i * 110}" y="${H - 8}" fill="${s.color}" font-size="11">${s.name}</text>`,
      )
      .join('');
    return `<g transform="translate(${dx},0)"><text x="${pad}" y="16" font-size="12">${title} (max ${max.toFixed(3)}; epochs 1-${rows.length})</text><line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#999"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#999"/>${lines}${legend}</g>`;
  };
  const loss = rows.map((r) => r.loss);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif" role="img"><title>Training curves: loss and accuracy (train, held-out) per epoch, epochs 1-${rows.length}</title>${chart('training loss', [{ name: 'loss', color: '#8c1c2c', values: loss }], Math.max(...loss, 0), 0)}${chart(
    'accuracy',
    [
      { name: 'train', color: '#1f6f8b', values: rows.map((r) => r.trainAccuracy) },
      { name: 'held-out', color: '#e07a1f', values: rows.map((r) => r.valAccuracy) },
    ],
    1,
    W,
  )}</svg>\n`;
}
