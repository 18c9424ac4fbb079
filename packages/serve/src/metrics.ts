import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The server's Prometheus metrics, in a registry of its own (several servers in one process stay apart). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'cardinal_requests_total',
    help: 'Requests answered, by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'cardinal_errors_total',
    help: 'Requests answered with a 4xx or 5xx status, by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'cardinal_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'cardinal_queue_depth',
    help: 'Requests waiting for a batch, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly batchLimit = new Gauge({
    name: 'cardinal_batch_limit',
    help: 'The most samples a batch holds now, by model: max-batch, or the size the backend was measured to run cheapest per sample.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly sampleCost = new Gauge({
    name: 'cardinal_batch_sample_seconds',
    help: 'Run time per sample of batches of each size, as the batch-size tuner measured it lately (median), by model.',
    labelNames: ['model', 'size'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'cardinal_batch_size',
    help: 'Samples per backend call, by model.',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  readonly inference = new Histogram({
    name: 'cardinal_inference_duration_seconds',
    help: 'Time of one backend call (a batch), by model.',
    labelNames: ['model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
}
