import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CardinalError, classify, preprocessImages, UsageError } from '@cardinal/core';
import { decodeImageBytes } from '@cardinal/pretrained';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { QueueFullError } from './batcher.js';
import { readBody, releaseBody } from './body.js';
import { SharedBufferPool } from './buffer-pool.js';
import { ServerMetrics } from './metrics.js';
import { type ModelEntry, ServedModel } from './model.js';
import { inferResponse, parseInferRequest, RequestError } from './protocol.js';

export interface ServeOptions {
  /** Default 127.0.0.1: nothing beyond this machine unless asked. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Largest request body in bytes (default 64 MiB): 413 past it. */
  bodyLimit?: number;
  /** Largest batch one request may send (default 64). */
  maxRequestBatch?: number;
  /** A request not answered in this time is cut off (default 30 s). */
  requestTimeoutMs?: number;
  /** Allowed browser origins (CORS); none by default. */
  corsOrigins?: string[];
  /** Structured access log (JSON lines) to stderr; off by default. */
  log?: boolean;
  /** Seconds a client is told to wait after a 503 for a full queue (Retry-After). */
  retryAfterSeconds?: number;
}

export interface InferenceServer {
  app: FastifyInstance;
  /** The address it listens on, e.g. http://127.0.0.1:8000. */
  url: string;
  models: ReadonlyMap<string, ServedModel>;
  metrics: ServerMetrics;
  /**
   * Graceful shutdown: readiness turns false, new requests get 503, every accepted request is
   * answered, then the models are disposed.
   */
  close(): Promise<void>;
}

const VERSION = '0.1.0';
/** Request and batch memory kept for reuse while idle, at most. */
const POOL_BYTES = 64 * 1024 * 1024;

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: message });
}

/** The first file of a multipart upload, read whole (past the body limit, toBuffer fails with a 413). */
async function uploadedFile(req: FastifyRequest): Promise<Buffer> {
  try {
    const part = await req.file();
    if (!part)
      throw new RequestError(400, 'multipart body without a file: expected an image in a file field');
    return await part.toBuffer();
  } catch (e) {
    // The parser's own failures (a body cut short, a missing boundary) are the client's.
    const err = e as Error & { statusCode?: number };
    if (err instanceof RequestError || (err.statusCode && err.statusCode < 500)) throw err;
    throw new RequestError(400, `malformed multipart body: ${err.message.split('\n')[0]!.slice(0, 200)}`);
  }
}

/**
 * Starts an inference server speaking the Open Inference Protocol (KServe v2, Triton's HTTP
 * API) over REST for the given models, each with its own dynamic batcher.
 */
export async function serve(
  entries: readonly ModelEntry[],
  options: ServeOptions = {},
): Promise<InferenceServer> {
  if (entries.length === 0) throw new UsageError('serve: no models');
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new UsageError(`serve: two models named '${e.name}'`);
    names.add(e.name);
  }
  const metrics = new ServerMetrics();
  const onBatch = (model: string, samples: number, seconds: number) => {
    metrics.batchSize.observe({ model }, samples);
    metrics.inference.observe({ model }, seconds);
  };
  // Binary tensors and batches live in reused shared memory, given back when their request is
  // answered or their batch has run.
  const pool = new SharedBufferPool(POOL_BYTES);
  const models = new Map<string, ServedModel>();
  for (const e of entries) models.set(e.name, await ServedModel.load(e, onBatch, pool));
  let ready = true;
  const bodyLimit = options.bodyLimit ?? 64 * 1024 * 1024;
  const maxRequestBatch = options.maxRequestBatch ?? 64;
  const retryAfter = String(options.retryAfterSeconds ?? 1);

  const app = Fastify({
    // The access log is JSON lines on stderr (stdout stays for the CLI's own lines).
    logger: options.log ? { level: 'info', stream: process.stderr } : false,
    bodyLimit,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // A request id on every response: the client's X-Request-Id, else a new one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
  });
  if (options.corsOrigins?.length) await app.register(cors, { origin: options.corsOrigins });
  // Bodies are read as bytes: JSON, JSON + binary tensors, or an image; each route parses its own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req: FastifyRequest, payload: IncomingMessage) =>
    readBody(payload, bodyLimit, req.routeOptions.url?.endsWith('/infer') ? pool : undefined),
  );
  // An HTML form's upload (multipart/form-data) on the image route: its first file part is the image.
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: 1, fields: 16, parts: 32 } });

  // The request time limit, ours: Node's requestTimeout is checked only every 30 s, and in this
  // server did not cut off a client that stalls in the middle of its body at all. A body not in
  // by the deadline gets 408 and its connection is closed; an accepted request not answered by
  // then (a queue longer than the limit) gets 503 with Retry-After.
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const deadlines = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  app.addHook('onRequest', async (req, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      // `complete`: Node has received the whole message, body included (a form upload too).
      if (!req.raw.complete) {
        // The rest of the body is not worth waiting for: close the connection once answered.
        reply.raw.once('finish', () => req.raw.socket?.destroy());
        reply.header('connection', 'close');
        sendError(reply, 408, `request body not received within ${requestTimeoutMs} ms`);
      } else {
        reply.header('retry-after', retryAfter);
        sendError(reply, 503, `not answered within ${requestTimeoutMs} ms`);
      }
    }, requestTimeoutMs);
    timer.unref();
    deadlines.set(req, timer);
  });
  app.addHook('onResponse', async (req) => clearTimeout(deadlines.get(req)));
  app.addHook('onRequestAbort', async (req) => clearTimeout(deadlines.get(req)));
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    const status = String(reply.statusCode);
    metrics.requests.inc({ route, status });
    if (reply.statusCode >= 400) metrics.errors.inc({ route, status });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  // Requests on their way to a batcher: announced as they arrive, withdrawn once submitted (or
  // answered otherwise), so an idle model waits for a batch only when others are coming.
  const announced = new WeakSet<FastifyRequest>();
  const withdraw = (req: FastifyRequest) => {
    if (!announced.has(req)) return;
    announced.delete(req);
    models.get((req.params as { name: string }).name)?.batcher.withdraw();
  };
  app.addHook('onRequest', async (req) => {
    const m = models.get((req.params as { name?: string } | undefined)?.name ?? '');
    if (m && req.method === 'POST') {
      announced.add(req);
      m.batcher.announce();
    }
  });
  app.addHook('onResponse', async (req) => withdraw(req));
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, `no route ${req.method} ${req.url.slice(0, 200)}`),
  );
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof QueueFullError) {
      reply.header('retry-after', retryAfter);
      return sendError(reply, 503, err.message);
    }
    if (err instanceof RequestError) return sendError(reply, err.status, err.message);
    if (err instanceof CardinalError) return sendError(reply, 400, err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE')
      return sendError(reply, 413, `body over the limit of ${bodyLimit} bytes`);
    if (err.statusCode && err.statusCode < 500) return sendError(reply, err.statusCode, err.message);
    req.log.error(err);
    return sendError(reply, 500, `internal error: ${err.message}`);
  });

  const model = (req: FastifyRequest<{ Params: { name: string } }>): ServedModel => {
    const m = models.get(req.params.name);
    if (!m)
      throw new RequestError(
        404,
        `unknown model '${req.params.name.slice(0, 128)}'; serving ${[...models.keys()].join(', ')}`,
      );
    return m;
  };

  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => reply.code(ready ? 200 : 503).send({ ready }));
  app.get('/v2', async () => ({
    name: 'cardinal',
    version: VERSION,
    extensions: ['binary_tensor_data', 'classification'],
  }));
  app.get<{ Params: { name: string } }>('/v2/models/:name', async (req) => model(req).metadata());
  app.get<{ Params: { name: string } }>('/v2/models/:name/ready', async (req, reply) => {
    model(req);
    return reply.code(ready ? 200 : 503).send({ name: req.params.name, ready });
  });
  app.post<{ Params: { name: string } }>('/v2/models/:name/infer', async (req, reply) => {
    const m = model(req);
    const body = req.body as Buffer | undefined;
    if (!body?.length) throw new RequestError(400, 'empty body: expected an infer request');
    try {
      const header = req.headers['inference-header-content-length'];
      const parsed = parseInferRequest(
        body,
        typeof header === 'string' ? header : undefined,
        m.graph.inputs[0]!,
        m.graph.outputs,
        maxRequestBatch,
      );
      metrics.queueDepth.set({ model: m.name }, m.batcher.depth);
      // Queued first, then no longer arriving: a batch waiting only for this request starts now.
      const running = m.infer(parsed.input);
      withdraw(req);
      const out = await running;
      if (reply.sent) return reply; // answered by the deadline meanwhile
      const res = inferResponse(m.name, parsed.id, parsed.outputs, out, m.randomMark);
      if (res.headerLength !== undefined)
        return reply
          .header('inference-header-content-length', String(res.headerLength))
          .type('application/octet-stream')
          .send(res.body);
      return reply.type('application/json').send(res.body);
    } finally {
      // Its run is over (or never started): nothing reads the body any more.
      releaseBody(body, pool);
    }
  });
  app.post<{ Params: { name: string }; Querystring: { top?: string } }>(
    '/v2/models/:name/classify',
    async (req, reply) => {
      const m = model(req);
      const body = req.isMultipart() ? await uploadedFile(req) : (req.body as Buffer | undefined);
      if (!body?.length) throw new RequestError(400, 'empty body: expected an image (PNG, JPEG, WebP)');
      const top = req.query.top === undefined ? 5 : Number(req.query.top);
      if (!Number.isSafeInteger(top) || top < 1)
        throw new RequestError(400, `top must be a positive integer, got '${req.query.top}'`);
      const image = await decodeImageBytes(body, 'image');
      const x = preprocessImages([image], m.preprocess);
      metrics.queueDepth.set({ model: m.name }, m.batcher.depth);
      const running = m.infer(x);
      withdraw(req);
      const out = await running;
      if (reply.sent) return reply; // answered by the deadline meanwhile
      const scores = classify(out[m.graph.outputs[0]!]!, {
        top,
        ...(m.labels ? { labels: m.labels } : {}),
      })[0]!;
      return {
        model_name: m.name,
        id: req.id,
        ...m.randomMark,
        top: scores,
      };
    },
  );
  app.get('/metrics', async (_req, reply) => {
    for (const m of models.values()) {
      metrics.queueDepth.set({ model: m.name }, m.batcher.depth);
      metrics.batchLimit.set({ model: m.name }, m.batcher.batchLimit);
      for (const [size, seconds] of m.batcher.sampleCosts())
        metrics.sampleCost.set({ model: m.name, size: String(size) }, seconds);
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8000 });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: address,
    models,
    metrics,
    close() {
      closing ??= (async () => {
        ready = false;
        // Stops accepting, answers 503 to requests that arrive meanwhile, waits for the rest.
        await app.close();
        for (const m of models.values()) {
          await m.batcher.drained();
          m.dispose();
        }
      })();
      return closing;
    },
  };
}
