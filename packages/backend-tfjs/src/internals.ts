// The lowering's parts, typed with tfjs's own types, for benchmarks and experiments:
// `@cardinal/backend-tfjs/internals`. The main entry keeps tfjs's types out of its declarations
// (they do not compile with skipLibCheck false); importing this one brings them in.
export { applyConv, type ConvPlan, type ConvStrategy, planConv, prepareFilter } from './lower/conv.js';
export { type BatchStats, type ParamSource, Program, type ProgramOptions } from './program.js';

import { selectRuntime as select, type Tf, type TfjsRuntime, type TfjsRuntimeName } from './runtime.js';

export type { Tf };
/** A selected runtime with its tfjs module (the main entry's declarations leave `tf` out). */
export interface LoadedRuntime extends TfjsRuntime {
  tf: Tf;
}
export const selectRuntime: (
  force?: TfjsRuntimeName,
  order?: readonly TfjsRuntimeName[],
) => Promise<LoadedRuntime> = select;
export { Trainer } from './train.js';
