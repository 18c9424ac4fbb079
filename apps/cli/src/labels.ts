import { IMAGENET_1K_LABELS } from '@cardinal/core';
import { readInputFile } from '@cardinal/pretrained';

/** --labels: `imagenet`, or a text file with one class name per line. */
export function readLabels(spec: string): string[] {
  if (spec === 'imagenet') return [...IMAGENET_1K_LABELS];
  const text = readInputFile(spec, 'labels file').toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
