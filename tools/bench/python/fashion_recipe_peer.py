"""PyTorch trained on Fashion-MNIST with the recipe `cardinal train` is given, for accuracy.

usage: fashion_recipe_peer.py <config.json> <idx dir> <epochs> <threads> [seed] [ranks]
The network is the plain-torch replica of timm's ResNet (tools/conformance/python) for the same
config, initialised as timm initialises for training (convolutions kaiming-normal fan-out,
BatchNorm 1/0 with the last of each block zeroed, Linear PyTorch's default). The recipe is the
one in BENCHMARKS.md: the published train split less 5,000 held-out images chosen by the seed,
normalised with the train split's mean and std; a random crop with 2 pixels of black padding and
a horizontal flip; batch 64; SGD with Nesterov momentum 0.9, lr 0.1, weight decay 5e-4 on
weights only (not BatchNorm, not biases); OneCycleLR (cosine, 2 warm-up epochs, no momentum
cycling); label smoothing 0.1. With ranks > 1 each batch is split as DistributedDataParallel
without SyncBatchNorm splits it over that many processes (what `cardinal train --workers` does):
BatchNorm normalises each part with its own statistics, the gradient is the mean of the parts'
gradients, and the running statistics are rank 0's (DDP broadcasts rank 0's buffers). Prints one JSON line per epoch, then the test split's top-1.
"""
import gzip
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'conformance', 'python'))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from timm_replica import ResNet  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(d, name):
    for suffix in ('.gz', ''):
        p = os.path.join(d, name + suffix)
        if os.path.exists(p):
            return read_idx(p)
    raise SystemExit(f'{d}: no {name}')


def template(cfg):
    """The state_dict shapes of the config, as timm names them (what ResNet reads widths from)."""
    sd = {}
    c_in = cfg.get('in_chans', 3)
    sw = cfg.get('stem_width', 64)
    chans = cfg.get('channels', [64, 128, 256, 512])
    card, bw = cfg.get('cardinality', 1), cfg.get('base_width', 64)
    if cfg.get('stem_type') == 'deep':
        sd['conv1.0.weight'] = torch.empty(sw, c_in, 3, 3)
        sd['conv1.3.weight'] = torch.empty(sw, sw, 3, 3)
        sd['conv1.6.weight'] = torch.empty(2 * sw, sw, 3, 3)
        inplanes = 2 * sw
    else:
        sd['conv1.weight'] = torch.empty(sw, c_in, 3 if cfg.get('stem_type') == 'cifar' else 7, 3)
        inplanes = sw
    for s, (n, planes) in enumerate(zip(cfg['layers'], chans)):
        width = int(math.floor(planes * (bw / 64)) * card)
        out = planes * 4
        for b in range(n):
            p = f'layer{s + 1}.{b}.'
            sd[p + 'conv1.weight'] = torch.empty(width, inplanes, 1, 1)
            sd[p + 'conv2.weight'] = torch.empty(width, width // card, 3, 3)
            sd[p + 'conv3.weight'] = torch.empty(out, width, 1, 1)
            sd[p + 'bn3.weight'] = torch.empty(out)
            if b == 0 and (s > 0 or inplanes != out):
                sd[p + 'downsample.0.weight'] = torch.empty(out, inplanes, 1, 1)
            inplanes = out
    sd['fc.weight'] = torch.empty(cfg.get('num_classes', 1000), inplanes)
    return sd


def timm_init(m):
    for name, mod in m.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(mod, torch.nn.BatchNorm2d):
            torch.nn.init.ones_(mod.weight)
            torch.nn.init.zeros_(mod.bias)
            if name.endswith('.bn3'):
                torch.nn.init.zeros_(mod.weight)


def main():
    config, idx_dir, epochs, threads = sys.argv[1:5]
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ranks = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    epochs = int(epochs)
    torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    cfg = json.load(open(config))
    if cfg.get('block') != 'Bottleneck':
        raise SystemExit('fashion_recipe_peer: only Bottleneck configs')
    m = ResNet(template(cfg), cfg)
    timm_init(m)

    train_x = split(idx_dir, 'train-images-idx3-ubyte').astype(np.float32) / 255
    train_y = split(idx_dir, 'train-labels-idx1-ubyte').astype(np.int64)
    test_x = split(idx_dir, 't10k-images-idx3-ubyte').astype(np.float32) / 255
    test_y = split(idx_dir, 't10k-labels-idx1-ubyte').astype(np.int64)
    mean, std = float(train_x.mean(dtype=np.float64)), float(train_x.std(dtype=np.float64))
    norm = lambda a: torch.from_numpy((a - mean) / std).unsqueeze(1)  # noqa: E731
    order = torch.randperm(len(train_y))
    val_i, fit_i = order[:5000], order[5000:]
    x_all, y_all = norm(train_x), torch.from_numpy(train_y)
    x_fit, y_fit, x_val, y_val = x_all[fit_i], y_all[fit_i], x_all[val_i], y_all[val_i]
    x_test, y_test = norm(test_x), torch.from_numpy(test_y)
    black = -mean / std

    batch = 64
    steps_per_epoch = math.ceil(len(y_fit) / batch)
    total = epochs * steps_per_epoch
    decay = [p for p in m.parameters() if p.ndim > 1]
    no_decay = [p for p in m.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4}, {'params': no_decay, 'weight_decay': 0}],
                          lr=0.1, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total,
                                                pct_start=round(2 * steps_per_epoch) / total,
                                                anneal_strategy='cos', cycle_momentum=False)

    def augment(x):
        n = x.shape[0]
        padded = F.pad(x, (2, 2, 2, 2), value=black)
        dy, dx = torch.randint(0, 5, (n,)), torch.randint(0, 5, (n,))
        out = torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])
        flip = torch.rand(n) < 0.5
        out[flip] = out[flip].flip(3)
        return out

    def accuracy(x, y):
        m.eval()
        with torch.no_grad():
            right = sum((m(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, len(y), 500))
        m.train()
        return right / len(y)

    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(len(y_fit))
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            i = perm[s * batch:(s + 1) * batch]
            x, y = augment(x_fit[i]), y_fit[i]
            parts = torch.arange(len(i)).chunk(ranks)
            bns = [mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)]
            loss = 0
            for r, part in enumerate(parts):
                for bn in bns:
                    bn.momentum = 0.1 if r == 0 else 0.0  # only rank 0's running statistics count
                loss = loss + F.cross_entropy(m(x[part]), y[part], label_smoothing=0.1) / len(parts)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(i)
        dt = time.perf_counter() - t0
        print(json.dumps({'epoch': epoch, 'loss': loss_sum / len(y_fit), 'val_accuracy': accuracy(x_val, y_val),
                          'images_per_second': len(y_fit) / dt, 'seconds': time.perf_counter() - start}), flush=True)
    print(json.dumps({'test_top1': accuracy(x_test, y_test), 'n': len(y_test),
                      'params': sum(p.numel() for p in m.parameters()), 'seconds': time.perf_counter() - start}),
          flush=True)


if __name__ == '__main__':
    main()
