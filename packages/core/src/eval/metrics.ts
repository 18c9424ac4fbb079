/** What `cardinal eval` reports: accuracy over n samples, per class, and the confusion matrix. */
export interface ClassificationReport {
  top1: number;
  top5: number;
  n: number;
  /** Accuracy of each true class (NaN-free: a class without samples reports 0). */
  per_class: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/**
 * Accumulates classification results batch by batch. Top-k counts a sample when fewer than k
 * logits are strictly greater than the true class's (a tie counts in the sample's favour).
 */
export class ClassificationMetrics {
  private readonly confusion: number[][];
  private top1 = 0;
  private top5 = 0;
  private n = 0;

  constructor(readonly classes: number) {
    this.confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  }

  /** Logits [batch, classes] (flat) and the batch's true labels. */
  add(logits: Float32Array, labels: ArrayLike<number>): void {
    const c = this.classes;
    if (logits.length !== labels.length * c)
      throw new RangeError(`${logits.length} logits for ${labels.length} samples of ${c} classes`);
    for (let i = 0; i < labels.length; i++) {
      const row = logits.subarray(i * c, (i + 1) * c);
      const label = labels[i]!;
      let best = 0;
      let above = 0;
      for (let k = 0; k < c; k++) {
        if (row[k]! > row[best]!) best = k;
        if (row[k]! > row[label]!) above++;
      }
      this.confusion[label]![best]!++;
      if (best === label) this.top1++;
      if (above < 5) this.top5++;
      this.n++;
    }
  }

  report(): ClassificationReport {
    const n = this.n;
    return {
      top1: n ? this.top1 / n : 0,
      top5: n ? this.top5 / n : 0,
      n,
      per_class: this.confusion.map((row, k) => {
        const total = row.reduce((a, b) => a + b, 0);
        return total ? row[k]! / total : 0;
      }),
      confusion: this.confusion.map((row) => [...row]),
    };
  }
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The confusion matrix as an SVG picture: one cell per (true, predicted) pair, shaded by the
 * fraction of the true class it holds, with the counts written in and the per-class accuracy
 * at the end of each row.
 */
export function confusionSvg(report: ClassificationReport, classes: readonly string[]): string {
  const n = classes.length;
  const cell = Math.max(22, Math.min(44, Math.floor(440 / n)));
  const left = 8 + 7 * Math.max(...classes.map((c) => c.length), 4);
  const top = 48;
  const width = left + n * cell + 70;
  const height = top + n * cell + 28;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>Confusion matrix, rows true class, columns predicted (top-1 ${(100 * report.top1).toFixed(2)}%, n ${report.n})</title>`,
    `<text x="${left}" y="16" font-size="13">confusion matrix: rows true, columns predicted (top-1 ${(100 * report.top1).toFixed(2)}%, n ${report.n})</text>`,
  ];
  for (const [t, row] of report.confusion.entries()) {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const y = top + t * cell;
    parts.push(
      `<text x="${left - 6}" y="${y + cell / 2 + 4}" text-anchor="end">${escapeXml(classes[t]!)}</text>`,
    );
    for (const [p, count] of row.entries()) {
      const share = count / total;
      const x = left + p * cell;
      const shade = Math.round(255 - 200 * share);
      const fill =
        t === p ? `rgb(${shade},${Math.round(255 - 120 * share)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"><title>${escapeXml(classes[t]!)} as ${escapeXml(classes[p]!)}: ${count}</title></rect>`,
      );
      if (count)
        parts.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="9">${count}</text>`,
        );
    }
    parts.push(
      `<text x="${left + n * cell + 6}" y="${y + cell / 2 + 4}">${(100 * report.per_class[t]!).toFixed(1)}%</text>`,
    );
  }
  for (const [p, c] of classes.entries())
    parts.push(
      `<text x="${left + p * cell + cell / 2}" y="${top - 6}" text-anchor="end" transform="rotate(-40 ${left + p * cell + cell / 2} ${top - 6})" font-size="9">${escapeXml(c)}</text>`,
    );
  parts.push('</svg>\n');
  return parts.join('');
}
