import type { Plan } from './lower.js';

/** Storage for tensors: `slotOf` maps each tensor to a slot; `slotSizes` are in bytes. */
export interface ArenaLayout {
  slotOf: Map<string, number>;
  slotSizes: number[];
}

/** Buffers are sized in multiples of 16 bytes so any binding can be read as vec4. */
export const roundUp16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

/**
 * Assigns intermediate tensors to reusable slots by liveness: a tensor's storage is taken at
 * the first step that writes it and given back after the last step that reads it (graph
 * outputs are never given back). Each taken slot is the smallest free one that fits, or the
 * largest free one grown to fit, so the arena ends up close to the peak live size.
 */
export function planArena(plan: Plan): ArenaLayout {
  const root = (t: string): string => {
    let r = t;
    while (plan.aliases.has(r)) r = plan.aliases.get(r)!;
    return r;
  };
  const firstWrite = new Map<string, number>();
  const lastRead = new Map<string, number>();
  for (const i of plan.inputs) firstWrite.set(root(i.name), -1);
  plan.steps.forEach((s, k) => {
    const out = root(s.output);
    if (!firstWrite.has(out)) firstWrite.set(out, k);
    for (const t of [...s.inputs, ...s.operands]) lastRead.set(root(t), k);
  });
  const pinned = new Set(plan.outputs.map((o) => root(o.name)));
  const slotOf = new Map<string, number>();
  const slotSizes: number[] = [];
  const free = new Set<number>();
  const take = (t: string) => {
    const need = roundUp16(plan.sizes.get(t) ?? 4);
    let best: number | undefined;
    for (const s of free)
      if (slotSizes[s]! >= need && (best === undefined || slotSizes[s]! < slotSizes[best]!)) best = s;
    if (best === undefined && free.size > 0) {
      for (const s of free) if (best === undefined || slotSizes[s]! > slotSizes[best]!) best = s;
      slotSizes[best!] = need;
    }
    if (best === undefined) {
      best = slotSizes.length;
      slotSizes.push(need);
    }
    free.delete(best);
    slotOf.set(t, best);
  };
  // Tensors whose last read is step k, so each step frees its own without a scan.
  const dyingAt = new Map<number, string[]>();
  for (const [t, last] of lastRead) if (!pinned.has(t)) dyingAt.set(last, [...(dyingAt.get(last) ?? []), t]);
  const release = (k: number) => {
    for (const t of dyingAt.get(k) ?? []) free.add(slotOf.get(t)!);
  };
  for (const i of plan.inputs) take(root(i.name));
  plan.steps.forEach((s, k) => {
    const out = root(s.output);
    if (!slotOf.has(out)) take(out);
    release(k);
  });
  // Aliases share their root's slot.
  for (const t of plan.sizes.keys()) if (!slotOf.has(t) && firstWrite.has(t)) take(t);
  const result = new Map<string, number>();
  const all = new Set<string>([...plan.aliases.keys(), ...slotOf.keys()]);
  for (const t of all) {
    const s = slotOf.get(root(t));
    if (s !== undefined) result.set(t, s);
  }
  return { slotOf: result, slotSizes };
}
