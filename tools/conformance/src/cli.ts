#!/usr/bin/env node
// pnpm conformance --suite onnx|train --backend <reference|onnx|tfjs|webgpu> [--json] [--filter S] [--root DIR]
import { parseArgs } from 'node:util';
import { fixturesDir } from '@cardinal/testkit';
import { CONFORMANCE_BACKENDS, type ConformanceBackend, loadConformanceBackend } from './backends.js';
import { DEBIAN_ONNX_TESTDATA, runOnnxSuite } from './onnx-suite.js';
import { runTrainSuite } from './train-suite.js';

const USAGE = `usage: pnpm conformance --suite onnx|train --backend <${CONFORMANCE_BACKENDS.join('|')}> [--json] [--filter TEXT] [--root DIR]`;

function usage(message: string): never {
  process.stderr.write(`cardinal conformance: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/**
 * Exits once what was written has reached the reader: `process.exit` alone drops a piped
 * stdout's unwritten tail (the summary line). Exits rather than returning, since a backend's
 * worker threads may hold the event loop.
 */
async function exit(code: number): Promise<never> {
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  await new Promise<void>((done) => process.stderr.write('', () => done()));
  process.exit(code);
}

async function main(): Promise<void> {
  let values: {
    suite?: string;
    backend?: string;
    json?: boolean;
    filter?: string;
    root?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        suite: { type: 'string', default: 'onnx' },
        backend: { type: 'string', default: 'reference' },
        json: { type: 'boolean', default: false },
        filter: { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.suite !== 'onnx' && values.suite !== 'train')
    usage(`unknown suite '${values.suite}' (known: onnx, train)`);
  const name = values.backend as ConformanceBackend;
  if (!CONFORMANCE_BACKENDS.includes(name)) usage(`unknown backend '${values.backend}'`);
  const loaded = await loadConformanceBackend(name);
  if ('reason' in loaded) {
    process.stderr.write(`cardinal conformance: backend '${name}' is not available here: ${loaded.reason}\n`);
    process.exit(1);
  }
  if (values.suite === 'train') {
    const root = values.root ?? fixturesDir();
    const report = await runTrainSuite(loaded.backend, root, { filter: values.filter });
    if (report.results.length === 0) {
      process.stderr.write(`cardinal conformance: no fixture folder with train/meta.json under ${root}\n`);
      await exit(1);
    }
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const r of report.results) if (r.reason) process.stdout.write(`failed  ${r.name}: ${r.reason}\n`);
      process.stdout.write(`train suite on ${name}: ${report.passed} passed, ${report.failed} failed\n`);
    }
    await exit(report.failed > 0 ? 1 : 0);
  }
  const root = values.root ?? DEBIAN_ONNX_TESTDATA;
  const report = await runOnnxSuite(loaded.backend, { root, filter: values.filter });
  if (report.passed + report.failed + report.unsupported === 0) {
    process.stderr.write(
      `cardinal conformance: no tests under ${root} (install Debian's libonnx-testdata)\n`,
    );
    await exit(1);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    for (const r of report.results)
      if (r.status !== 'passed') process.stdout.write(`${r.status.padEnd(11)} ${r.name}: ${r.reason}\n`);
    process.stdout.write(
      `onnx suite on ${name}: ${report.passed} passed, ${report.failed} failed, ${report.unsupported} unsupported\n`,
    );
  }
  await exit(report.failed > 0 ? 1 : 0);
}

await main();
