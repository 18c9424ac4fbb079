"""PyTorch peers for tools/bench, run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

  torch_peer.py export <weights.safetensors> <out.onnx> <size> [name] [config.json]
      torch.onnx.export of torchvision's model (or, with a ResNet config.json, of the conformance
      replica of timm's model: ECA, BlurPool, GroupNorm ...), opset 17
  torch_peer.py eager <request.json>                               eager timing under torch.inference_mode()

The weights are Cardinal's safetensors (PyTorch state_dict names), read by the conformance
replica's reader so both sides run the same numbers.
"""
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'conformance', 'python'))
import torch  # noqa: E402
import torchvision  # noqa: E402
from timm_replica import build, read_safetensors  # noqa: E402


def model(name, weights, replica_config=None):
    """torchvision's model by name, or (timm's wider family) the plain-PyTorch replica of the config."""
    sd = read_safetensors(weights)
    if replica_config:
        m = build({'kind': 'model', 'config': json.load(open(replica_config))}, sd)
    else:
        m = getattr(torchvision.models, name)()
    m.load_state_dict(sd, strict=True)
    return m.eval()


def input_tensor(n, size):
    # The same LCG as the Node worker, so every subject sees the same input.
    count = n * 3 * size * size
    s = 12345
    out = np.empty(count, dtype=np.float32)
    for i in range(count):
        s = (s * 1103515245 + 12345) % 2147483648
        out[i] = s / 1073741824 - 1
    return torch.from_numpy(out.reshape(n, 3, size, size))


def export(weights, out, size, name='resnext50_32x4d', replica_config=None):
    m = model(name, weights, replica_config)
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(m, x, out, opset_version=17, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, do_constant_folding=True)


def eager(req):
    torch.set_num_threads(req['threads'])
    torch.set_num_interop_threads(1)
    m = model(req.get('torchvision_model', req['model']), req['weightsFile'], req.get('replicaConfig'))
    batches = []
    for n in req['batches']:
        x = input_tensor(n, req['size'])
        samples = []
        with torch.inference_mode():
            for _ in range(req['warmup']):
                m(x)
            for _ in range(req['runs']):
                t0 = time.perf_counter()
                m(x)
                samples.append((time.perf_counter() - t0) * 1000)
        s = sorted(samples)
        q = lambda p: float(np.quantile(s, p))
        med = q(0.5)
        batches.append({'batch': n, 'latency': {'runs': len(s), 'medianMs': med, 'p90Ms': q(0.9), 'minMs': s[0]},
                        'imagesPerSecond': n * 1000 / med, 'samples': samples})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = 'timm replica' if req.get('replicaConfig') else 'torchvision'
    print(json.dumps({'subject': 'pytorch-eager', 'detail': f'torch {torch.__version__}, {kind} {req["model"]}, '
                      f'{req["threads"]} threads, inference_mode', 'batches': batches, 'peakRssMiB': rss}))


if __name__ == '__main__':
    if sys.argv[1] == 'export':
        export(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else 'resnext50_32x4d',
               sys.argv[6] if len(sys.argv) > 6 else None)
    else:
        eager(json.load(open(sys.argv[2])))
