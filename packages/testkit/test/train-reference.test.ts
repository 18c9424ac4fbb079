import { referenceBackend } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import {
  fixturesDir,
  listTrainFixtureDirs,
  loadTrainFixture,
  runTrainFixture,
  timmFixturesDir,
} from '../src/index.js';

const dirs = [fixturesDir(), timmFixturesDir()].flatMap((root) => (root ? listTrainFixtureDirs(root) : []));

describe('the reference executor trains: one PyTorch training step per fixture', () => {
  it('finds every training fixture', () => expect(dirs.length).toBeGreaterThanOrEqual(11));
  it.each(dirs)('%s', async (dir) => {
    const f = loadTrainFixture(dir);
    const t0 = Date.now();
    const { failures, step } = await runTrainFixture(referenceBackend, f);
    console.log(f.name, Date.now() - t0, 'ms', step.loss, f.meta.loss.value);
    expect(failures).toEqual([]);
  });
});
