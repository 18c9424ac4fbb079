/** Batches observed at a size before its cost is trusted. */
const MIN_OBSERVATIONS = 4;
/** A size's cost is the median of its last this many batches: robust to a pause, and it follows change. */
const WINDOW = 8;
/** One batch in this many is a probe while some size has not been measured enough yet... */
const PROBE_EVERY_WARMING = 4;
/**
 * ...then one in PROBE_EVERY, the interval doubling after each round of probes that left the
 * best size as it was, up to PROBE_EVERY_MOST: a probe of a size that loses costs throughput (a
 * large one can take every waiting request while the other replicas idle), so probes grow rare
 * while they keep confirming the best.
 */
const PROBE_EVERY = 16;
const PROBE_EVERY_MOST = 128;
/**
 * A larger batch must cost this much less per sample than a smaller one to be chosen over it:
 * its samples wait for each other and its tail latency is longer, costs its run time does not
 * show, and a batch's measured time carries the event loop's delay in noticing its end, which
 * flatters large batches (less of it per sample). On a GPU batching saves several times this.
 */
const MARGIN = 0.1;

/**
 * Learns from the backend's run times which batch size, up to `maxBatch`, costs the least time
 * per sample, and limits batches to it (the smallest size within MARGIN of the least). Batching
 * pays on a GPU (a batch of 8 costs little more than one sample) but can cost on a CPU (a
 * batch's activations outgrow the caches): a batcher that always fills `maxBatch` would lose
 * throughput there against no batching at all. Until sizes have been measured the limit is
 * `maxBatch`. Some batches are probes, limited to the next of the sizes 1, 2, 4, ..., maxBatch
 * in turn instead, so that every size keeps being measured as the load changes.
 */
export class BatchSizeTuner {
  /** Time per sample of the last WINDOW batches, by size. */
  private readonly costs = new Map<number, number[]>();
  private readonly probes: number[];
  private sinceProbe = 0;
  private probe = 0;
  private probeEvery = PROBE_EVERY;
  private bestAtRoundStart: number;
  private best: number;

  constructor(private readonly maxBatch: number) {
    this.best = maxBatch;
    this.bestAtRoundStart = maxBatch;
    this.probes = [];
    for (let s = 1; s < maxBatch; s *= 2) this.probes.push(s);
    this.probes.push(maxBatch);
  }

  private warming(): boolean {
    return this.probes.some((s) => (this.costs.get(s)?.length ?? 0) < MIN_OBSERVATIONS);
  }

  private probing(): boolean {
    return this.sinceProbe + 1 >= (this.warming() ? PROBE_EVERY_WARMING : this.probeEvery);
  }

  /** The probe the next batch would be, if it is to be one and `available` samples fill it. */
  private dueProbe(available: number): number | undefined {
    if (!this.probing()) return undefined;
    const size = this.probes[this.probe % this.probes.length]!;
    return size <= available ? size : undefined;
  }

  /**
   * The most samples the next batch may hold. `available`: the samples waiting that it may take.
   * A probe waits until that many wait: a probe the load cannot fill measures nothing, and one
   * that takes every waiting request leaves the other replicas idle.
   */
  nextLimit(available = Number.POSITIVE_INFINITY): number {
    return this.dueProbe(available) ?? this.best;
  }

  /**
   * The limit of a batch being formed now: what nextLimit(available) says, and the batch counts
   * toward the next probe (or is that probe).
   */
  formBatch(available = Number.POSITIVE_INFINITY): number {
    const probe = this.dueProbe(available);
    if (probe === undefined) {
      this.sinceProbe++;
      return this.best;
    }
    this.probe++;
    this.sinceProbe = 0;
    if (this.probe % this.probes.length === 0 && !this.warming()) {
      // A round of probes is over: rarer probes if it confirmed the best, frequent ones if not.
      this.probeEvery =
        this.best === this.bestAtRoundStart ? Math.min(2 * this.probeEvery, PROBE_EVERY_MOST) : PROBE_EVERY;
      this.bestAtRoundStart = this.best;
    }
    return probe;
  }

  /** A batch of `samples` ran in `seconds` (its own run, not its wait behind another). */
  observe(samples: number, seconds: number): void {
    if (samples > this.maxBatch || !(seconds > 0)) return;
    const window = this.costs.get(samples) ?? [];
    window.push(seconds / samples);
    if (window.length > WINDOW) window.shift();
    this.costs.set(samples, window);
    this.best = this.cheapest();
  }

  /**
   * The smallest measured size whose time per sample is within MARGIN of the least; maxBatch
   * while nothing is measured.
   */
  private cheapest(): number {
    const measured = [...this.costs]
      .filter(([, window]) => window.length >= MIN_OBSERVATIONS)
      .map(([size, window]) => ({ size, cost: median(window) }))
      .sort((a, b) => a.size - b.size);
    if (measured.length === 0) return this.maxBatch;
    const least = Math.min(...measured.map((m) => m.cost));
    return measured.find((m) => m.cost <= least * (1 + MARGIN))!.size;
  }

  /** Time per sample by batch size, as measured so far (for metrics and tests). */
  measured(): Map<number, number> {
    return new Map([...this.costs].map(([size, window]) => [size, median(window)]));
  }

  /** The limit batches run under now, outside the exploring ones. */
  get limit(): number {
    return this.best;
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
