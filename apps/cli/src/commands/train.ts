import { runTraining } from '../train/fit.js';
import { parseTrainFlags } from '../train/flags.js';
import { planTraining } from '../train/plan.js';

export const trainHelp = `cardinal train <model | config.json> --data <dir | synthetic | fashion-mnist> --out trained.safetensors
              [--epochs 3] [--batch-size 32] [--lr 0.003] [--optimizer adam|adamw|sgd] [--momentum 0.9]
              [--nesterov] [--weight-decay 0] [--decay all|weights] [--schedule constant|cosine|onecycle]
              [--warmup-epochs 0] [--label-smoothing 0] [--input-size 32] [--train-size N] [--val-size N] [--seed 0]
              [--augment crop-flip|none] [--weights init.safetensors|init.pth [--weights-key K]]
              [--num-classes N] [--freeze stem,layer1,...] [--backbone-lr FACTOR]
              [--run DIR] [--resume] [--backend onnx|tfjs|webgpu|reference]
              [--tfjs-backend node-gpu|node|wasm|cpu] [--workers auto|N] [--force] [--json]
  Trains and writes the weights as safetensors with PyTorch names. --backend: onnx (ONNX Runtime,
  the IR's training graph in standard ONNX ops), tfjs (TensorFlow.js, its own tape), webgpu (the
  training graph as WGSL kernels) or reference (plain TypeScript, slow); default: the first of these that trains here, the order of their
  measured speed (BENCHMARKS.md), said in the first line of the output.
  --data synthetic: coloured shapes, 10 classes, made on the fly (1200 train / 300 held-out);
  a folder: one subfolder per class (10% held out); fashion-mnist (Debian's dataset-fashion-mnist)
  or a folder of MNIST-style IDX files: the published train split, less a held-out --val-size
  (default 5000) chosen by --seed; 1x28x28 images normalised with the training split's mean and
  std (written into the safetensors metadata), augmented by a random crop with 2 pixels of
  padding and a horizontal flip (--augment none turns it off). A folder of photos: torchvision's
  RandomResizedCrop and flip for training, the model's own transform (a timm folder's, else
  ImageNet's at --input-size) for the held-out images.
  Fine-tuning: --weights from a pretrained model; --num-classes N makes a new head for the data's
  classes (the old classifier's weights are dropped, and said so); --freeze keeps the named
  modules (stem = the stem's modules) as they are; --backbone-lr scales the rate of all but the head.
  The optimisers and schedules are PyTorch's, update for update: SGD (with --nesterov), Adam,
  AdamW (decoupled decay); --decay weights skips BatchNorm and biases; cosine is LinearLR warm-up
  then CosineAnnealingLR to 0, onecycle is OneCycleLR (cosine; the warm-up is its rising part).
  tfjs only: --workers N splits each batch over N threads (one tfjs runtime per core), as PyTorch's
  DistributedDataParallel without SyncBatchNorm splits it over N processes: each thread's BatchNorm
  normalises its share with that share's statistics, the threads' gradients are averaged and every
  thread takes the same step; the running statistics are the first thread's. auto (default): one
  thread per core on wasm and cpu (at least 16 images each), 1 on tfjs-node, which uses every core.
  The run folder (--run, default <out>-run beside --out) gets checkpoint.safetensors (weights,
  optimiser state, epoch) after every epoch, metrics.jsonl and curves.svg; a new run refuses an
  existing folder unless --resume (continue from its checkpoint: the same command with --resume
  gives the uninterrupted run's weights, bit for bit) or --force. SIGINT or SIGTERM stops the run
  at the next step: the last checkpoint stays, --out is not written.`;

/** `cardinal train`: flags checked (train/flags), the run planned and checked (train/plan), then run (train/fit). */
export async function trainCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const flags = parseTrainFlags(argv);
  if (flags === 'help') {
    out(trainHelp);
    return 0;
  }
  const plan = await planTraining(flags, err);
  const { history, runtime, backend } = await runTraining(plan, err);
  const last = history.at(-1);
  const { classes } = plan.data;
  if (flags.json) {
    out(
      JSON.stringify({
        model: plan.label,
        data: flags.data,
        classes,
        backend,
        runtime,
        epochs: history,
        out: flags.out,
      }),
    );
  } else {
    out(
      `trained ${plan.label} for ${flags.epochs} epochs: held-out accuracy ${last ? (100 * last.valAccuracy).toFixed(1) : '-'}% (chance ${(100 / classes).toFixed(1)}%), final loss ${last ? last.loss.toFixed(4) : '-'}; wrote ${flags.out}`,
    );
  }
  return 0;
}
