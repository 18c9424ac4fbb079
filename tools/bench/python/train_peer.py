"""PyTorch's training throughput on the same network, batch and optimiser as Cardinal's.

usage: train_peer.py <config.json> <weights.safetensors> <C,H,W> <batch> <steps> <warmup> <threads> [frozen,prefixes]
The network is the plain-torch replica of timm's ResNet (tools/conformance/python), loaded with
the weights Cardinal starts from. SGD, momentum 0.9, lr 0.01, cross-entropy. Prints JSON.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'conformance', 'python'))
import torch  # noqa: E402
from timm_replica import ResNet, read_safetensors  # noqa: E402

config, weights, chw, batch, steps, warmup, threads = sys.argv[1:8]
torch.set_num_threads(int(threads))
torch.manual_seed(0)
cfg = json.load(open(config))
sd = read_safetensors(weights)
m = ResNet(sd, cfg)
m.load_state_dict(sd)
m.train()
# Fine-tuning rows: parameters under these module paths keep requires_grad False, as
# Cardinal's freeze (BatchNorm still in training mode, its running statistics updated).
frozen = [p for p in (sys.argv[8].split(',') if len(sys.argv) > 8 and sys.argv[8] else []) if p]
for name, p in m.named_parameters():
    if any(name == f or name.startswith(f + '.') for f in frozen):
        p.requires_grad_(False)
opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
c, h, w = (int(v) for v in chw.split(','))
x = torch.randn(int(batch), c, h, w)
y = torch.randint(0, cfg.get('num_classes', 10), (int(batch),))


def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(m(x), y).backward()
    opt.step()


for _ in range(int(warmup)):
    step()
t = time.perf_counter()
for _ in range(int(steps)):
    step()
dt = time.perf_counter() - t
print(json.dumps({'images_per_second': int(batch) * int(steps) / dt, 'threads': torch.get_num_threads()}))
