"""The checkpoint-loading peers of `pnpm bench --suite pretrained`, with Debian's python3:
    pth_peer.py make <out.pth> <arch>     torch.save(torchvision.models.<arch>().state_dict())
    pth_peer.py load <file.pth>           torch.load(file, map_location='cpu'), timed; prints JSON
"""
import json
import resource
import sys
import time

import torch

if sys.argv[1] == 'make':
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, sys.argv[3])()
    torch.save(model.state_dict(), sys.argv[2])
    sys.exit(0)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
sd = torch.load(sys.argv[2], map_location='cpu')
# Touch every tensor, as a loader that hands over usable float32 tensors must.
n = sum(t.numel() for t in sd.values())
ms = (time.perf_counter() - t0) * 1000
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'ms': ms, 'peakMiB': peak, 'baseMiB': before, 'tensors': len(sd), 'elements': n}))
