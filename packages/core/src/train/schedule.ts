/**
 * Learning-rate schedules by optimizer step, in PyTorch's closed forms (step s = 0 is the
 * first step's rate):
 * - `constant`: the base rate.
 * - `cosine`: linear warm-up from base * warmupStartFactor over warmupSteps (LinearLR), then
 *   CosineAnnealingLR to `min` over the remaining steps.
 * - `onecycle`: OneCycleLR with cosine annealing: from base / divFactor up to base over the
 *   first warmupSteps + 1 steps, then down to base / divFactor / finalDivFactor at the last step.
 */
export type LrSchedule =
  | { kind: 'constant'; base: number }
  | {
      kind: 'cosine';
      base: number;
      totalSteps: number;
      warmupSteps?: number;
      warmupStartFactor?: number;
      min?: number;
    }
  | {
      kind: 'onecycle';
      base: number;
      totalSteps: number;
      warmupSteps: number;
      divFactor?: number;
      finalDivFactor?: number;
    };

const cosAnneal = (start: number, end: number, pct: number) =>
  end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

export function learningRateAt(s: LrSchedule, step: number): number {
  switch (s.kind) {
    case 'constant':
      return s.base;
    case 'cosine': {
      const warm = s.warmupSteps ?? 0;
      const min = s.min ?? 0;
      if (step < warm) {
        const f0 = s.warmupStartFactor ?? 1 / 3;
        return s.base * (f0 + ((1 - f0) * step) / warm);
      }
      const span = Math.max(1, s.totalSteps - warm);
      return cosAnneal(s.base, min, Math.min(1, (step - warm) / span));
    }
    case 'onecycle': {
      const initial = s.base / (s.divFactor ?? 25);
      const final = initial / (s.finalDivFactor ?? 1e4);
      const end1 = s.warmupSteps;
      const end2 = s.totalSteps - 1;
      if (step <= end1) return cosAnneal(initial, s.base, end1 > 0 ? step / end1 : 1);
      return cosAnneal(s.base, final, Math.min(1, (step - end1) / Math.max(1, end2 - end1)));
    }
  }
}
