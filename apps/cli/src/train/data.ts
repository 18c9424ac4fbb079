// The images a run trains on and its held-out split: synthetic shapes, IDX files, or a folder of photos.
import type { ChannelNormalisation, PreprocessConfig } from '@cardinal/core';
import { shuffled } from '../data/dataset.js';
import { idxData } from '../data/idx.js';
import { photoFolder, photoTransform, type TrainData, tensorData } from '../data/source.js';
import { syntheticShapes } from '../data/synthetic.js';
import { UsageError } from '../errors.js';
import type { DataKind } from './flags.js';

/** The training data and its held-out split (indices into the training set, or its own set). */
export interface TrainingData {
  train: TrainData;
  val: TrainData;
  trainIdx: Int32Array;
  valIdx: Int32Array;
  /** What IDX images were normalised with (stored with the weights). */
  normalisation?: ChannelNormalisation;
}

/** --data as training and held-out data: synthetic shapes, IDX files, or a folder of photos. */
export async function trainingData(o: {
  data: string;
  kind: DataKind;
  size: number;
  seed: number;
  augment: boolean;
  trainSize: number | undefined;
  valSize: number | undefined;
  sizeGiven: boolean;
  declared: PreprocessConfig | undefined;
}): Promise<TrainingData> {
  const { size, seed, augment, trainSize, valSize } = o;
  if (o.kind === 'synthetic') {
    const train = tensorData(
      syntheticShapes(trainSize ?? 1200, size, seed),
      augment ? { pad: 2, fill: 0 } : undefined,
    );
    const val = tensorData(syntheticShapes(valSize!, size, seed + 1_000_003));
    const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    return { train, val, trainIdx: all(train.count), valIdx: all(val.count) };
  }
  if (o.kind === 'idx') {
    const data = idxData(o.data);
    const n = data.normalisation;
    // A black pixel, normalised, fills the border the crop exposes.
    const train = tensorData(data.train, augment ? { pad: 2, fill: -n.mean[0]! / n.std[0]! } : undefined);
    if (valSize! >= train.count)
      throw new UsageError(`train: --val-size ${valSize} leaves no training images of ${train.count}`);
    // The held-out images come out of the published train split, chosen by the seed; the test split stays unseen.
    const order = shuffled(train.count, seed);
    return {
      train,
      val: train,
      valIdx: order.subarray(0, valSize),
      trainIdx: order.subarray(valSize, trainSize ? valSize! + trainSize : undefined),
      normalisation: n,
    };
  }
  // Photos: the model's own transform (a timm folder's pretrained_cfg, else ImageNet's at the size asked).
  const cfg = photoTransform(o.declared, size, o.sizeGiven);
  const train = await photoFolder(o.data, cfg, augment);
  const order = shuffled(train.count, seed);
  const nVal = valSize ?? Math.max(1, Math.round(train.count * 0.1));
  if (nVal >= train.count)
    throw new UsageError(`train: --val-size ${nVal} leaves no training images of ${train.count}`);
  return { train, val: train, valIdx: order.subarray(0, nVal), trainIdx: order.subarray(nVal) };
}
