"""torch.optim on given tensors: reads JSON from stdin {opt, param, grads: [step][values]},
prints the parameter after each step as JSON (float32 values)."""
import json
import sys

import torch

d = json.load(sys.stdin)
o = d['opt']
p = torch.nn.Parameter(torch.tensor(d['param'], dtype=torch.float32))
if o['name'] == 'sgd':
    opt = torch.optim.SGD([p], lr=o['lr'], momentum=o['momentum'], nesterov=o['nesterov'], weight_decay=o['weight_decay'])
elif o['name'] == 'adam':
    opt = torch.optim.Adam([p], lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'], weight_decay=o['weight_decay'])
else:
    opt = torch.optim.AdamW([p], lr=o['lr'], betas=tuple(o['betas']), eps=o['eps'], weight_decay=o['weight_decay'])
out = []
for g in d['grads']:
    p.grad = torch.tensor(g, dtype=torch.float32)
    opt.step()
    out.append(p.detach().tolist())
print(json.dumps(out))
