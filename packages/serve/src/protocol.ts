import { jsonTooDeep, RequestError, type Tensor, type TensorSpec } from '@cardinal/core';

/** A request the client got wrong: answered with `status` and `{"error": message}` (core's, re-exported). */
export { RequestError };

const bad = (message: string): never => {
  throw new RequestError(400, message);
};

/** The Open Inference Protocol's request, as far as Cardinal reads it. */
interface InferInput {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

export interface InferRequest {
  id?: string;
  /** The model's input, checked against its spec. */
  input: Tensor;
  inputName: string;
  /** Outputs to return, and whether as binary data. */
  outputs: { name: string; binary: boolean }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Row-major values from `data`, flat or nested as the protocol allows, into float32. */
function flatten(data: unknown, count: number, name: string): Float32Array {
  const out = new Float32Array(count);
  let i = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      bad(`input '${name}': data must hold numbers only, got ${JSON.stringify(v)?.slice(0, 40)}`);
    if (i >= count) bad(`input '${name}': data has more than the ${count} elements its shape holds`);
    out[i++] = v as number;
  };
  walk(data);
  if (i !== count) bad(`input '${name}': data has ${i} elements, its shape holds ${count}`);
  return out;
}

/**
 * Reads an infer request: JSON, or JSON followed by binary tensors (the binary-data extension:
 * `Inference-Header-Content-Length` gives the JSON's length). Checks the one input against the
 * model's spec (any batch size up to `maxBatchPerRequest`, the rest of the shape exact), the
 * datatype (FP32) and the element count, before any tensor is allocated.
 */
export function parseInferRequest(
  body: Buffer,
  headerLength: string | undefined,
  spec: TensorSpec,
  outputNames: readonly string[],
  maxBatchPerRequest: number,
): InferRequest {
  let jsonBytes = body;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!Number.isSafeInteger(n) || n < 0 || n > body.length)
      bad(`Inference-Header-Content-Length ${headerLength} does not fit the body of ${body.length} bytes`);
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let json: unknown;
  const text = jsonBytes.toString('utf8');
  const deep = jsonTooDeep(text);
  if (deep) bad(deep);
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad(`malformed JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(json)) bad('the request must be a JSON object');
  const req = json as Record<string, unknown>;
  if (req.id !== undefined && typeof req.id !== 'string') bad("'id' must be a string");
  if (!Array.isArray(req.inputs) || req.inputs.length !== 1)
    bad(`'inputs' must list exactly one input ('${spec.name}')`);
  const inp = (req.inputs as unknown[])[0];
  if (!isRecord(inp)) bad("'inputs[0]' must be an object");
  const { name, shape, datatype, data, parameters } = inp as unknown as InferInput;
  if (name !== spec.name) bad(`unknown input '${String(name).slice(0, 64)}'; the model takes '${spec.name}'`);
  if (datatype !== 'FP32')
    bad(`input '${name}': datatype must be FP32, got ${JSON.stringify(datatype)?.slice(0, 20)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d > 0))
    bad(`input '${name}': shape must be positive integers`);
  const want = spec.shape;
  const fits =
    shape.length === want.length &&
    shape.slice(1).every((d, i) => d === want[i + 1]) &&
    shape[0]! <= maxBatchPerRequest;
  if (!fits)
    bad(
      `input '${name}': shape [${shape.join(', ')}] does not fit [-1, ${want.slice(1).join(', ')}] (batch at most ${maxBatchPerRequest})`,
    );
  const count = shape.reduce((a, b) => a * b, 1);
  let values: Float32Array;
  const binarySize = isRecord(parameters) ? parameters.binary_data_size : undefined;
  if (binarySize !== undefined) {
    if (!binary) bad(`input '${name}': binary_data_size without Inference-Header-Content-Length`);
    if (binarySize !== count * 4)
      bad(
        `input '${name}': binary_data_size ${binarySize} is not ${count} FP32 elements (${count * 4} bytes)`,
      );
    if (binary!.length !== binarySize)
      bad(`input '${name}': ${binary!.length} bytes of binary data, the header says ${binarySize}`);
    // Little-endian bytes as the extension states (this host is little-endian, as every Node
    // target): used where they lie when aligned, else copied once.
    values =
      binary!.byteOffset % 4 === 0
        ? new Float32Array(binary!.buffer, binary!.byteOffset, count)
        : new Float32Array(new Uint8Array(binary!).buffer);
  } else {
    if (data === undefined) bad(`input '${name}': no 'data' and no binary_data_size`);
    values = flatten(data, count, name);
  }
  const outputs: { name: string; binary: boolean }[] = [];
  const wantBinary =
    isRecord(req.parameters) && (req.parameters as Record<string, unknown>).binary_data_output === true;
  if (req.outputs === undefined) for (const o of outputNames) outputs.push({ name: o, binary: wantBinary });
  else {
    if (!Array.isArray(req.outputs)) bad("'outputs' must be a list");
    for (const o of req.outputs as unknown[]) {
      if (!isRecord(o) || typeof o.name !== 'string') bad("each of 'outputs' needs a 'name'");
      const out = o as { name: string; parameters?: { binary_data?: unknown } };
      if (!outputNames.includes(out.name))
        bad(
          `unknown output '${out.name.slice(0, 64)}'; the model gives ${outputNames.map((n) => `'${n}'`).join(', ')}`,
        );
      outputs.push({
        name: out.name,
        binary: isRecord(out.parameters) ? out.parameters.binary_data === true : wantBinary,
      });
    }
  }
  return {
    ...(typeof req.id === 'string' ? { id: req.id } : {}),
    input: { shape, data: values },
    inputName: name,
    outputs,
  };
}

/**
 * The infer response: JSON, or JSON then the binary outputs (their `binary_data_size` in the
 * JSON, the JSON's length in `Inference-Header-Content-Length`).
 */
export function inferResponse(
  model: string,
  id: string | undefined,
  outputs: { name: string; binary: boolean }[],
  values: Record<string, Tensor>,
  randomMark: { random_weights?: true; warning?: string } = {},
): { body: Buffer | string; headerLength?: number } {
  const chunks: Buffer[] = [];
  const json = {
    model_name: model,
    model_version: '1',
    ...(id !== undefined ? { id } : {}),
    // The protocol's response parameters: a model with random weights says so in every answer.
    ...(randomMark.random_weights ? { parameters: randomMark } : {}),
    outputs: outputs.map(({ name, binary }) => {
      const t = values[name]!;
      if (!binary) return { name, datatype: 'FP32', shape: [...t.shape], data: Array.from(t.data) };
      chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      return {
        name,
        datatype: 'FP32',
        shape: [...t.shape],
        parameters: { binary_data_size: t.data.byteLength },
      };
    }),
  };
  const text = JSON.stringify(json);
  if (chunks.length === 0) return { body: text };
  const head = Buffer.from(text);
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}
