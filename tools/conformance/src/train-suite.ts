import type { Backend } from '@cardinal/core';
import { listTrainFixtureDirs, loadTrainFixture, runTrainFixture } from '@cardinal/testkit';

export interface TrainSuiteResult {
  name: string;
  status: 'passed' | 'failed';
  reason?: string;
}

export interface TrainSuiteReport {
  passed: number;
  failed: number;
  results: TrainSuiteResult[];
}

/**
 * Every fixture folder under `root` with a `train/` step, run through the backend's training
 * compile and checked by the fixtures' pass rule (loss, output, every gradient, running
 * statistics). A fixture that cannot be loaded or run fails with the reason.
 */
export async function runTrainSuite(
  backend: Backend,
  root: string,
  options: { filter?: string } = {},
): Promise<TrainSuiteReport> {
  const results: TrainSuiteResult[] = [];
  for (const dir of listTrainFixtureDirs(root)) {
    const name = dir.slice(root.replace(/\/+$/, '').length + 1);
    if (options.filter && !name.includes(options.filter)) continue;
    try {
      const { failures } = await runTrainFixture(backend, loadTrainFixture(dir, name), { threads: 1 });
      results.push(
        failures.length === 0
          ? { name, status: 'passed' }
          : { name, status: 'failed', reason: failures.join('; ') },
      );
    } catch (e) {
      results.push({ name, status: 'failed', reason: (e as Error).message });
    }
  }
  const passed = results.filter((r) => r.status === 'passed').length;
  return { passed, failed: results.length - passed, results };
}
