import {
  fixturesDir,
  listTrainFixtureDirs,
  loadTrainFixture,
  runTrainFixture,
  timmFixturesDir,
} from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { onnxBackend } from '../src/index.js';

const dirs = [fixturesDir(), timmFixturesDir()].flatMap((root) => (root ? listTrainFixtureDirs(root) : []));

describe('ONNX Runtime trains: one PyTorch training step per fixture, standard ONNX ops only', () => {
  it('finds every training fixture', () => expect(dirs.length).toBeGreaterThanOrEqual(11));
  it.each(dirs)('%s', async (dir) => {
    const f = loadTrainFixture(dir);
    const { failures } = await runTrainFixture(onnxBackend, f, { threads: 1 });
    expect(failures).toEqual([]);
  });
});
