// One replica of a ParallelTrainer: a Trainer in a worker thread that computes the gradients of
// its share of each batch and takes the same optimiser step as every other rank.
import { parentPort, workerData } from 'node:worker_threads';
import { CardinalError, InternalError } from '@cardinal/core';
import type { FromWorker, ToWorker, WorkerInit } from './parallel-protocol.js';
import { Trainer } from './train.js';

const port = parentPort;
if (!port) throw new InternalError('parallel-worker runs as a worker thread of a ParallelTrainer');
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function handle(trainer: Trainer, m: ToWorker): Promise<void> {
  if (m.kind === 'step') {
    const r = await trainer.computeGradients(m.x, m.labels);
    send({ kind: 'grads', loss: r.loss, correct: r.correct, grads: r.grads }, [
      r.grads.buffer as ArrayBuffer,
    ]);
  } else if (m.kind === 'apply') trainer.applyGradients(m.grads);
  else if (m.kind === 'restore') trainer.restoreOptimizerState(m.state);
  else send({ kind: 'weights', weights: await trainer.weights() });
}

function errorMessage(e: unknown): FromWorker {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof CardinalError ? { kind: 'error', message, code: e.code } : { kind: 'error', message };
}

const init = workerData as WorkerInit;
try {
  const trainer = await Trainer.create(init.graph, init.weights, init.options);
  // Messages are handled one at a time, in the order sent.
  let queue = Promise.resolve();
  port.on('message', (m: ToWorker) => {
    queue = queue.then(() => handle(trainer, m)).catch((e: unknown) => send(errorMessage(e)));
  });
  send({ kind: 'ready' });
} catch (e) {
  send(errorMessage(e));
}
