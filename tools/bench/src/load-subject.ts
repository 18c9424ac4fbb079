// One load of a .pth by Cardinal in a fresh process, for `pnpm bench --suite pretrained`:
//   node load-subject.js <file.pth>   prints JSON {ms, peakMiB, baseMiB, tensors, elements}
import { readWeightsFile } from '@cardinal/pretrained';

const path = process.argv[2]!;
const base = process.resourceUsage().maxRSS / 1024;
const t0 = performance.now();
const tensors = await readWeightsFile(path);
let elements = 0;
for (const t of tensors.values()) elements += t.data.length;
const ms = performance.now() - t0;
const peak = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ ms, peakMiB: peak, baseMiB: base, tensors: tensors.size, elements }));
