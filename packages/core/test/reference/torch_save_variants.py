"""Writes fixtures' state dicts with torch.save in every form a user may hand over, for the
checkpoint reader's tests. Run with Debian's python3 and python3-torch:
    torch_save_variants.py <weights.safetensors> <out_dir> [<weights.safetensors> <out_dir> ...]
The safetensors file is read by hand (Debian has no safetensors package)."""
import argparse, json, os, struct, sys
import numpy as np
import torch

EVAL_TARGET = ''

class Evil:
    def __init__(self, target):
        self.target = target
    def __reduce__(self):
        return (os.system, ('touch ' + self.target,))

class Custom:
    pass

class Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch " + EVAL_TARGET + "')",))



def variants(src, out):
    global EVAL_TARGET
    EVAL_TARGET = os.path.join(out, 'pwned-eval')
    raw = open(src, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    DT = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32}
    sd = {}
    for k, e in header.items():
        if k == '__metadata__':
            continue
        b, end = e['data_offsets']
        a = np.frombuffer(data[b:end], dtype=DT[e['dtype']]).reshape(e['shape'])
        sd[k] = torch.from_numpy(a.copy())

    def save(obj, name, legacy=False):
        torch.save(obj, os.path.join(out, name), _use_new_zipfile_serialization=not legacy)

    save(sd, 'zip.pth')
    save(sd, 'legacy.pth', legacy=True)
    wrapped = {'state_dict': sd, 'epoch': 3, 'args': argparse.Namespace(lr=0.1, arch='resnext', layers=[1, 2]),
               'device': torch.device('cpu'), 'best_acc': np.float64(0.93), 'step': np.int64(7)}
    save(wrapped, 'wrapped.pth')
    save(wrapped, 'wrapped-legacy.pth', legacy=True)
    save({'module.' + k: v for k, v in sd.items()}, 'ddp.pth')
    save({'model': sd, 'model_ema': sd}, 'ambiguous.pth')

    # Every tensor a non-contiguous view (every other element of a row) at an offset into one
    # shared storage.
    total = sum(2 * t.numel() + 3 for t in sd.values())
    views, off = {}, 0
    base = {torch.float32: torch.zeros(total, dtype=torch.float32), torch.int64: torch.zeros(total, dtype=torch.int64)}
    for k, t in sd.items():
        b = base[t.dtype]
        if t.dim() == 0:
            v = b[off + 1]
        else:
            strides = [2 * int(np.prod(t.shape[i + 1:])) for i in range(t.dim())]
            v = b.as_strided(t.shape, strides, off + 3)
        v.copy_(t)
        assert t.dim() == 0 or not v.is_contiguous() or t.numel() == 1
        views[k] = v
        off += 2 * t.numel() + 3
    save(views, 'views.pth')
    save(views, 'views-legacy.pth', legacy=True)

    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    save(half, 'half.pth')
    save({k: (v.bfloat16() if v.is_floating_point() else v) for k, v in sd.items()}, 'bf16.pth')
    save({k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()}, 'f64.pth')
    # The float16-rounded values, for the bit-exact comparison.
    with open(os.path.join(out, 'half.json'), 'w') as f:
        json.dump({k: v.float().flatten().tolist() for k, v in half.items() if v.is_floating_point()}, f)

    save({'weight': torch.zeros(2), 'x': Evil(os.path.join(out, 'pwned'))}, 'evil-system.pth')
    save({'weight': torch.zeros(2), 'x': Eval()}, 'evil-eval.pth')
    save({'weight': torch.zeros(2), 'x': Custom()}, 'evil-custom.pth', legacy=True)


for i in range(1, len(sys.argv), 2):
    variants(sys.argv[i], sys.argv[i + 1])
print('ok')
