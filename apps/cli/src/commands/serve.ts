import { printable } from '@cardinal/core';
import { openModel, readJsonFile } from '@cardinal/pretrained';
import { type ModelEntry, modelEntry, serve } from '@cardinal/serve';
import { parse, parseIntFlag, parsePositiveInt, parseThreads } from '../args.js';
import { BACKEND_NAMES, loadBackend } from '../backends.js';
import { CliError, UsageError } from '../errors.js';
import { sourceOptions } from '../model-source.js';

export const serveHelp = `cardinal serve <model>... [--weights W] [--backend ${BACKEND_NAMES.join('|')} (default onnx)] [--name NAME]
               [--host 127.0.0.1] [--port 8000] [--max-batch 8] [--max-delay-ms 5] [--max-queue 256]
               [--replicas R] [--threads T] [--cors ORIGIN]... [--config models.json] [--quiet]
  An Open Inference Protocol (KServe v2 / Triton) server over HTTP: /v2/health/{live,ready},
  /v2/models/{name}[/ready], POST /v2/models/{name}/infer (JSON or binary tensors),
  POST /v2/models/{name}/classify (an image body), /metrics (Prometheus). Dynamic batching per
  model; 503 with Retry-After when a queue is full; SIGTERM/SIGINT answer what was accepted, then exit 0.
  --replicas R runs R copies of each model at once (throughput on several cores; --threads is per
  copy, the cores divided among them by default). --config lists models:
  [{"name", "model", "weights"?, "backend"?, "replicas"?}].`;

interface ConfigEntry {
  name?: string;
  model: string;
  weights?: string;
  backend?: string;
  replicas?: number;
}

const CONFIG_KEYS = ['name', 'model', 'weights', 'backend', 'replicas'];
const MAX_REPLICAS = 64;

function readConfig(path: string): ConfigEntry[] {
  const v = readJsonFile(path, 'serve config');
  const list = Array.isArray(v) ? v : (v as { models?: unknown })?.models;
  if (!Array.isArray(list) || list.length === 0)
    throw new CliError(
      `${path}: expected a list of models [{"name", "model", "weights", "backend", "replicas"}]`,
    );
  return list.map((e, i) => {
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.model === 'string' &&
      ['name', 'weights', 'backend'].every((k) => e[k] === undefined || typeof e[k] === 'string') &&
      (e.replicas === undefined ||
        (Number.isSafeInteger(e.replicas) && e.replicas >= 1 && e.replicas <= MAX_REPLICAS)) &&
      Object.keys(e).every((k) => CONFIG_KEYS.includes(k));
    if (!ok)
      throw new CliError(
        `${path}: models[${i}]: expected {"name"?, "model", "weights"?, "backend"?} of strings and "replicas"? of 1..${MAX_REPLICAS}`,
      );
    return e as ConfigEntry;
  });
}

export async function serveCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const { values, positionals } = parse('serve', argv, {
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    backend: { type: 'string', default: 'onnx' },
    name: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8000' },
    'max-batch': { type: 'string', default: '8' },
    'max-delay-ms': { type: 'string', default: '5' },
    'max-queue': { type: 'string', default: '256' },
    threads: { type: 'string' },
    replicas: { type: 'string', default: '1' },
    cors: { type: 'string', multiple: true },
    config: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (values.help) {
    out(serveHelp);
    return 0;
  }
  const list: ConfigEntry[] = values.config ? readConfig(values.config) : [];
  if (positionals.length > 1 && (values.name || values.weights))
    throw new UsageError('serve: --name and --weights go with one model; list several in --config');
  for (const p of positionals)
    list.push({
      model: p,
      ...(values.name ? { name: values.name } : {}),
      ...(values.weights ? { weights: values.weights } : {}),
    });
  if (list.length === 0) throw new UsageError('serve: expected a model (or --config)');
  const port = parseIntFlag(values.port!, '--port');
  if (port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${values.port}'`);
  const batching = {
    maxBatch: parsePositiveInt(values['max-batch']!, '--max-batch'),
    maxDelayMs: parseIntFlag(values['max-delay-ms']!, '--max-delay-ms'),
    maxQueue: parsePositiveInt(values['max-queue']!, '--max-queue'),
  };
  if (batching.maxDelayMs < 0) throw new UsageError('--max-delay-ms must be 0 or more');
  const threads = values.threads ? parseThreads(values.threads) : undefined;
  const replicas = parsePositiveInt(values.replicas!, '--replicas');
  if (replicas > MAX_REPLICAS)
    throw new UsageError(`--replicas must be at most ${MAX_REPLICAS}, got ${replicas}`);
  const defaults = {
    backend: values.backend!,
    weightsKey: values['weights-key'],
    quiet: values.quiet ?? false,
  };
  const entries = await buildEntries(list, defaults, { batching, replicas, threads }, err);
  const server = await serve(entries, {
    host: values.host!,
    port,
    log: !values.quiet,
    ...(values.cors?.length ? { corsOrigins: values.cors } : {}),
  });
  if (!values.quiet) for (const m of server.models.values()) err(`note: ${m.name}: ${m.describe()}`);
  out(`serving ${[...server.models.keys()].join(', ')} at ${server.url} (Open Inference Protocol v2)`);
  await untilSignal(server, err);
  return 0;
}

/**
 * The served models: each opened as `cardinal classify` opens it (openModel: the same weights,
 * transform and labels), on its backend, with the server's batching and replicas.
 */
async function buildEntries(
  list: readonly ConfigEntry[],
  defaults: { backend: string; weightsKey: string | undefined; quiet: boolean },
  shared: { batching: ModelEntry['batching']; replicas: number; threads: number | undefined },
  err: (s: string) => void,
): Promise<ModelEntry[]> {
  const entries: ModelEntry[] = [];
  for (const e of list) {
    const backend = await loadBackend(e.backend ?? defaults.backend);
    const opened = await openModel(e.model, {
      ...sourceOptions(),
      ...(e.weights ? { weights: e.weights } : {}),
      ...(defaults.weightsKey ? { weightsKey: defaults.weightsKey } : {}),
      ...(defaults.quiet ? {} : { note: err }),
    });
    const name = e.name ?? opened.description.shortName;
    if (!/^[\w.-]{1,128}$/.test(name))
      throw new UsageError(
        `serve: model name '${printable(name.slice(0, 64))}' is not usable in a URL; give --name`,
      );
    entries.push({
      ...modelEntry(opened, backend, name),
      ...(shared.batching ? { batching: shared.batching } : {}),
      replicas: e.replicas ?? shared.replicas,
      ...(shared.threads ? { compile: { threads: shared.threads } } : {}),
    });
  }
  return entries;
}

/** Serves until SIGTERM or SIGINT, then answers what was accepted and closes. */
function untilSignal(server: { close(): Promise<void> }, err: (s: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      err(`cardinal serve: ${signal}: answering the accepted requests, then exiting`);
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
