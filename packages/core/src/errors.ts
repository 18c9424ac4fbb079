/**
 * Every error Cardinal raises for bad input is a CardinalError with a stable `code`,
 * so callers (and the CLI) can tell user mistakes from bugs without parsing messages.
 */
export type CardinalErrorCode =
  | 'E_CONFIG'
  | 'E_SHAPE'
  | 'E_GRAPH'
  | 'E_WEIGHTS'
  | 'E_SAFETENSORS'
  | 'E_NPY'
  | 'E_INPUT'
  | 'E_UNKNOWN_MODEL'
  | 'E_UNSUPPORTED'
  | 'E_COST'
  | 'E_CHECKPOINT'
  | 'E_UNAVAILABLE'
  | 'E_FILE'
  | 'E_IMAGE'
  | 'E_FETCH'
  | 'E_ONNX'
  | 'E_DATA'
  | 'E_USAGE'
  | 'E_REQUEST'
  | 'E_INTERNAL';

export class CardinalError extends Error {
  readonly code: CardinalErrorCode;
  constructor(code: CardinalErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A config object (timm ResNet arguments, a block config or a meta.json) is malformed. */
export class ConfigError extends CardinalError {
  constructor(message: string) {
    super('E_CONFIG', message);
  }
}

/** Shapes do not fit: the message names the module path, the expected and the actual shapes. */
export class ShapeError extends CardinalError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** A graph document or graph structure is invalid. */
export class GraphError extends CardinalError {
  constructor(message: string) {
    super('E_GRAPH', message);
  }
}

/** A safetensors file is malformed; the message says which part (header, offsets, dtype). */
export class SafetensorsError extends CardinalError {
  constructor(message: string) {
    super('E_SAFETENSORS', message);
  }
}

/** A PyTorch checkpoint (.pth/.pt/.bin) is malformed, truncated, or names something it may not. */
export class CheckpointError extends CardinalError {
  constructor(message: string) {
    super('E_CHECKPOINT', message);
  }
}

/** A .npy file is malformed or holds an unsupported dtype. */
export class NpyError extends CardinalError {
  constructor(message: string) {
    super('E_NPY', message);
  }
}

/** A file the user named cannot be read or written (missing, a folder, a device, exists already). */
export class FileError extends CardinalError {
  constructor(message: string) {
    super('E_FILE', message);
  }
}

/** An image cannot be decoded, or is larger than the decompression-bomb limit. */
export class ImageError extends CardinalError {
  constructor(message: string) {
    super('E_IMAGE', message);
  }
}

/** A download failed, did not match its hash, or is not cached in offline mode. */
export class FetchError extends CardinalError {
  constructor(message: string) {
    super('E_FETCH', message);
  }
}

/** An input tensor does not match what the graph expects. */
export class InputError extends CardinalError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

/** A zoo name, block name or op is unknown. */
export class UnknownModelError extends CardinalError {
  constructor(message: string) {
    super('E_UNKNOWN_MODEL', message);
  }
}

/** A model or tensor exceeds the cost limits (parameters, activations, nodes): refused before allocation. */
export class CostError extends CardinalError {
  constructor(message: string) {
    super('E_COST', message);
  }
}

/** A runtime or backend that was asked for is not installed or cannot start here. */
export class BackendUnavailableError extends CardinalError {
  constructor(message: string) {
    super('E_UNAVAILABLE', message);
  }
}

/** A graph, op or option that is valid but that this backend or runtime does not implement. */
export class UnsupportedError extends CardinalError {
  constructor(message: string) {
    super('E_UNSUPPORTED', message);
  }
}

/** A command or function was called wrongly (a flag, an argument): the CLI exits 2 for it. */
export class UsageError extends CardinalError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** A request a server received is malformed or cannot be served; `status` is its HTTP status. */
export class RequestError extends CardinalError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('E_REQUEST', message);
  }
}

/**
 * An invariant of Cardinal's own broke (a worker's protocol, a plan's storage): a bug to
 * report, never a user's mistake. The CLI prints it as an internal error (exit 70).
 */
export class InternalError extends CardinalError {
  constructor(message: string) {
    super('E_INTERNAL', message);
  }
}

/** The weights do not fit the graph; the report lists every offending key. */
export class WeightLoadError extends CardinalError {
  readonly report: WeightReport;
  constructor(message: string, report: WeightReport) {
    super('E_WEIGHTS', message);
    this.report = report;
  }
}

export interface MismatchedKey {
  key: string;
  expected: number[];
  got: number[];
}

export interface WeightReport {
  missing: string[];
  unexpected: string[];
  mismatched: MismatchedKey[];
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Text from a file made fit for a one-line message: control and other unprintable characters
 * shown as `?`, and cut to `max` characters (JSON.parse quotes the bad text in its errors, and a
 * binary file handed over as JSON would otherwise print raw bytes to the terminal).
 */
export function printable(text: string, max = 160): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** A data set file (IDX, a class folder) is malformed, or its parts disagree. */
export class DataError extends CardinalError {
  constructor(message: string) {
    super('E_DATA', message);
  }
}
