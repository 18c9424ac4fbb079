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
