/**
 * Module paths handed out once each: a repeat of `base` gets `base_1`, `base_2`, ... The next
 * number is remembered per base, so a graph of 50,000 unnamed nodes of one op is linear, not a
 * scan from `_1` for every node.
 */
export class UniquePaths {
  private readonly taken = new Set<string>();
  private readonly next = new Map<string, number>();

  claim(base: string): string {
    let path = base;
    if (this.taken.has(path)) {
      let k = this.next.get(base) ?? 1;
      while (this.taken.has(`${base}_${k}`)) k++;
      this.next.set(base, k + 1);
      path = `${base}_${k}`;
    }
    this.taken.add(path);
    return path;
  }
}
