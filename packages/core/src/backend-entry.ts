/**
 * `@cardinal/core/backend`: what a backend package is written against, apart from the IR. The
 * contract it implements (`Backend`, `Executable`, their options) and the steps every backend's
 * compile() and run() share (device check, pre-passes, input checks, the disposed guard).
 * Everything here is also exported from `@cardinal/core`.
 */

export type * from './backend.js';
export * from './backend-kit.js';
