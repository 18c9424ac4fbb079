"""PyTorch's reference for GraphTrainer: K optimiser steps of cross-entropy on one batch.

usage: torch_steps.py <fixture dir> <in.bin> <labels (comma separated)> <optimizer json> <steps> <out.safetensors>
The model is the plain-torch replica of timm's ResNet (tools/conformance/python) with the
fixture's weights, in train mode; the optimizer json has name, lr, momentum, nesterov,
weight_decay, betas, eps, label_smoothing. Writes the state_dict after the steps.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'conformance', 'python'))
import torch  # noqa: E402
from timm_replica import ResNet, read_safetensors  # noqa: E402

fixture, xin, labels, opt_json, steps, out = sys.argv[1:7]
torch.set_num_threads(1)
meta = json.load(open(os.path.join(fixture, 'meta.json')))
sd = read_safetensors(os.path.join(fixture, 'weights.safetensors'))
m = ResNet(sd, meta['config'])
m.load_state_dict(sd)
m.train()
o = json.loads(opt_json)
if o['name'] == 'sgd':
    opt = torch.optim.SGD(m.parameters(), lr=o['lr'], momentum=o['momentum'], nesterov=o['nesterov'], weight_decay=o['weight_decay'])
elif o['name'] == 'adam':
    opt = torch.optim.Adam(m.parameters(), lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'], weight_decay=o['weight_decay'])
else:
    opt = torch.optim.AdamW(m.parameters(), lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'], weight_decay=o['weight_decay'])
shape = meta['input_shape']
n = int(labels.count(',')) + 1
x = torch.frombuffer(bytearray(open(xin, 'rb').read()), dtype=torch.float32).reshape([n] + shape[1:])
y = torch.tensor([int(v) for v in labels.split(',')])
for _ in range(int(steps)):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(m(x), y, label_smoothing=o['label_smoothing']).backward()
    opt.step()
header, blobs, off = {}, [], 0
for k, v in m.state_dict().items():
    b = v.contiguous().numpy().tobytes()
    header[k] = {'dtype': 'F32' if v.dtype == torch.float32 else 'I64', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(out, 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
