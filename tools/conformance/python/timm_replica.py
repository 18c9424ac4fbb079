"""Plain-PyTorch replicas of timm's ResNet family modules, for torch.onnx.export in tests.

timm is not packaged by Debian; these follow timm's forward code (resnet.py, sknet.py,
resnest.py, layers/squeeze_excite.py, selective_kernel.py, split_attn.py) op for op, so the
exporter emits what it emits for timm's models. Layer widths come from the fixture's
state_dict. Each replica is checked against the fixture's output.bin before it is exported.

usage: python3 timm_replica.py <fixtures dir> <out dir> <name:opset[:dynamic]>...
(dynamic: the batch axis is symbolic)
prints one line per export: <file> <max |replica - output.bin|> <atol>
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        b, e = v['data_offsets']
        dtype = {'F32': torch.float32, 'I64': torch.int64}[v['dtype']]
        out[k] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(v['shape']) if e > b else torch.zeros(v['shape'], dtype=dtype)
    return out


# The model's norm layer (norm_layer in the config): BatchNorm2d, or timm's GroupNorm (32 groups).
NORM = {'layer': nn.BatchNorm2d}


def norm(c):
    return NORM['layer'](c)


def group_norm(c):
    return nn.GroupNorm(32, c, eps=1e-5)


class BlurPool2d(nn.Module):
    """timm's BlurPool2d: reflect padding, then the binomial [1, 2, 1] filter, depthwise, at a stride."""

    def __init__(self, channels, stride=2):
        super().__init__()
        self.stride = stride
        self.padding = [(stride - 1 + 2) // 2] * 4
        taps = torch.tensor([1., 2., 1.]) / 4
        self.register_buffer('filt', (taps[:, None] * taps[None, :])[None, None].repeat(channels, 1, 1, 1),
                             persistent=False)

    def forward(self, x):
        return F.conv2d(F.pad(x, self.padding, mode='reflect'), self.filt, stride=self.stride, groups=x.shape[1])


def aa_layer(kind, channels, stride):
    """timm's create_aa: BlurPool2d(channels, stride) or AvgPool2d(stride)."""
    return BlurPool2d(channels, stride) if kind == 'blur' else nn.AvgPool2d(stride)


def aa_kind(cfg):
    aa = (cfg.get('aa_layer') or '').lower()
    return None if not aa else ('avg' if aa.startswith('avg') else 'blur')


class EcaModule(nn.Module):
    """timm's EcaModule: channel mean, a 1-D conv across the channels, sigmoid."""

    def __init__(self, w):
        super().__init__()
        k = w.shape[2]
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = torch.sigmoid(self.conv(y)).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


def attention(sd, p):
    if f'{p}se.fc1.weight' in sd:
        return SEModule(sd, f'{p}se.')
    if f'{p}se.conv.weight' in sd:
        return EcaModule(sd[f'{p}se.conv.weight'])
    return None


def conv(w, stride=1, padding=0, dilation=1, groups=1, bias=None):
    o, i, kh, kw = w.shape
    return nn.Conv2d(i * groups, o, (kh, kw), stride, padding, dilation, groups, bias=bias is not None)


class ConvNormAct(nn.Module):
    def __init__(self, sd, p, stride=1, padding=0, dilation=1, groups=1, act=True):
        super().__init__()
        self.conv = conv(sd[f'{p}.conv.weight'], stride, padding, dilation, groups)
        self.bn = norm(sd[f'{p}.conv.weight'].shape[0])
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SEModule(nn.Module):
    def __init__(self, sd, p):
        super().__init__()
        self.fc1 = conv(sd[f'{p}fc1.weight'], bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = conv(sd[f'{p}fc2.weight'], bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.fc1(x_se)
        x_se = self.act(self.bn(x_se))
        x_se = self.fc2(x_se)
        return x * self.gate(x_se)


class SelectiveKernelAttn(nn.Module):
    def __init__(self, sd, p, num_paths):
        super().__init__()
        self.num_paths = num_paths
        self.fc_reduce = conv(sd[f'{p}fc_reduce.weight'])
        self.bn = norm(sd[f'{p}fc_reduce.weight'].shape[0])
        self.act = nn.ReLU(inplace=True)
        self.fc_select = conv(sd[f'{p}fc_select.weight'])

    def forward(self, x):
        x = x.sum(1).mean((2, 3), keepdim=True)
        x = self.fc_reduce(x)
        x = self.bn(x)
        x = self.act(x)
        x = self.fc_select(x)
        B, C, H, W = x.shape
        x = x.view(B, self.num_paths, C // self.num_paths, H, W)
        x = torch.softmax(x, dim=1)
        return x


class SelectiveKernel(nn.Module):
    """Two 3x3 paths (dilation 1 and 2: timm's keep_3x3 form of kernels 3 and 5)."""

    def __init__(self, sd, p, in_channels, stride=1, split_input=True):
        super().__init__()
        self.num_paths = 2
        self.split_input = split_input
        self.in_channels = in_channels
        w = sd[f'{p}paths.0.conv.weight']
        path_in = in_channels // 2 if split_input else in_channels
        groups = path_in // w.shape[1]
        self.paths = nn.ModuleList(
            [ConvNormAct(sd, f'{p}paths.{i}', stride, d, d, groups) for i, d in enumerate([1, 2])]
        )
        self.attn = SelectiveKernelAttn(sd, f'{p}attn.', 2)

    def forward(self, x):
        if self.split_input:
            x_split = torch.split(x, self.in_channels // self.num_paths, 1)
            x_paths = [op(x_split[i]) for i, op in enumerate(self.paths)]
        else:
            x_paths = [op(x) for op in self.paths]
        x = torch.stack(x_paths, dim=1)
        x_attn = self.attn(x)
        x = x * x_attn
        x = torch.sum(x, dim=1)
        return x


class RadixSoftmax(nn.Module):
    def __init__(self, radix, cardinality):
        super().__init__()
        self.radix = radix
        self.cardinality = cardinality

    def forward(self, x):
        batch = x.size(0)
        if self.radix > 1:
            x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
            x = F.softmax(x, dim=1)
            x = x.reshape(batch, -1)
        else:
            x = torch.sigmoid(x)
        return x


class SplitAttn(nn.Module):
    def __init__(self, sd, p, radix, stride=1, dilation=1):
        super().__init__()
        self.radix = radix
        w = sd[f'{p}conv.weight']
        mid, in_per_group = w.shape[0], w.shape[1]
        out_channels = mid // radix
        fc1 = sd[f'{p}fc1.weight']
        groups = out_channels // fc1.shape[1]
        in_channels = in_per_group * groups * radix
        self.conv = nn.Conv2d(in_channels, mid, 3, stride, dilation, dilation, groups=groups * radix, bias=False)
        self.bn0 = norm(mid)
        self.act0 = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(out_channels, fc1.shape[0], 1, groups=groups)
        self.bn1 = norm(fc1.shape[0])
        self.act1 = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(fc1.shape[0], mid, 1, groups=groups)
        self.rsoftmax = RadixSoftmax(radix, groups)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn0(x)
        x = self.act0(x)
        B, RC, H, W = x.shape
        if self.radix > 1:
            x = x.reshape((B, self.radix, RC // self.radix, H, W))
            x_gap = x.sum(dim=1)
        else:
            x_gap = x
        x_gap = x_gap.mean((2, 3), keepdim=True)
        x_gap = self.fc1(x_gap)
        x_gap = self.bn1(x_gap)
        x_gap = self.act1(x_gap)
        x_attn = self.fc2(x_gap)
        x_attn = self.rsoftmax(x_attn).view(B, -1, 1, 1)
        if self.radix > 1:
            out = (x * x_attn.reshape((B, self.radix, RC // self.radix, 1, 1))).sum(dim=1)
        else:
            out = x * x_attn
        return out.contiguous()


def downsample(sd, p, stride):
    if f'{p}downsample.2.weight' in sd:  # avg_down: pool, 1x1 conv, bn
        pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
        w = sd[f'{p}downsample.1.weight']
        return nn.Sequential(pool, conv(w), norm(w.shape[0]))
    if f'{p}downsample.0.weight' in sd:
        w = sd[f'{p}downsample.0.weight']
        k = w.shape[2]
        return nn.Sequential(conv(w, stride, ((stride - 1) + (k - 1)) // 2), norm(w.shape[0]))
    return None


class Bottleneck(nn.Module):
    def __init__(self, sd, p, stride, cardinality, aa=None):
        super().__init__()
        use_aa = aa is not None and stride == 2
        self.conv1 = conv(sd[f'{p}conv1.weight'])
        self.bn1 = norm(self.conv1.out_channels)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = conv(sd[f'{p}conv2.weight'], 1 if use_aa else stride, 1, 1, cardinality)
        self.bn2 = norm(self.conv2.out_channels)
        self.act2 = nn.ReLU(inplace=True)
        self.aa = aa_layer(aa, self.conv2.out_channels, stride) if use_aa else nn.Identity()
        self.conv3 = conv(sd[f'{p}conv3.weight'])
        self.bn3 = norm(self.conv3.out_channels)
        self.se = attention(sd, p)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample(sd, p, stride)

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.bn2(self.conv2(x))))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act3(x)


class BasicBlock(nn.Module):
    def __init__(self, sd, p, stride, aa=None):
        super().__init__()
        use_aa = aa is not None and stride == 2
        self.conv1 = conv(sd[f'{p}conv1.weight'], 1 if use_aa else stride, 1)
        self.bn1 = norm(self.conv1.out_channels)
        self.act1 = nn.ReLU(inplace=True)
        self.aa = aa_layer(aa, self.conv1.out_channels, stride) if use_aa else nn.Identity()
        self.conv2 = conv(sd[f'{p}conv2.weight'], 1, 1)
        self.bn2 = norm(self.conv2.out_channels)
        self.se = attention(sd, p)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample(sd, p, stride)

    def forward(self, x):
        shortcut = x
        x = self.aa(self.act1(self.bn1(self.conv1(x))))
        x = self.bn2(self.conv2(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act2(x)


class SelectiveKernelBasic(nn.Module):
    def __init__(self, sd, p, stride, inplanes, split_input):
        super().__init__()
        self.conv1 = SelectiveKernel(sd, f'{p}conv1.', inplanes, stride, split_input)
        self.conv2 = ConvNormAct(sd, f'{p}conv2', 1, 1, act=False)
        self.act = nn.ReLU(inplace=True)
        self.downsample = downsample(sd, p, stride)

    def forward(self, x):
        shortcut = x
        x = self.conv2(self.conv1(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act(x)


class SelectiveKernelBottleneck(nn.Module):
    def __init__(self, sd, p, stride, split_input):
        super().__init__()
        self.conv1 = ConvNormAct(sd, f'{p}conv1')
        width = sd[f'{p}conv1.conv.weight'].shape[0]
        self.conv2 = SelectiveKernel(sd, f'{p}conv2.', width, stride, split_input)
        self.conv3 = ConvNormAct(sd, f'{p}conv3', act=False)
        self.act = nn.ReLU(inplace=True)
        self.downsample = downsample(sd, p, stride)

    def forward(self, x):
        shortcut = x
        x = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act(x)


class ResNestBottleneck(nn.Module):
    def __init__(self, sd, p, stride, radix, avd_first):
        super().__init__()
        avd_stride = stride if stride > 1 else 0
        conv_stride = 1 if avd_stride else stride
        self.conv1 = conv(sd[f'{p}conv1.weight'])
        self.bn1 = norm(self.conv1.out_channels)
        self.act1 = nn.ReLU(inplace=True)
        self.avd_first = nn.AvgPool2d(3, avd_stride, padding=1) if avd_stride and avd_first else None
        self.conv2 = SplitAttn(sd, f'{p}conv2.', radix, conv_stride)
        self.avd_last = nn.AvgPool2d(3, avd_stride, padding=1) if avd_stride and not avd_first else None
        self.conv3 = conv(sd[f'{p}conv3.weight'])
        self.bn3 = norm(self.conv3.out_channels)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample(sd, p, stride)

    def forward(self, x):
        shortcut = x
        out = self.act1(self.bn1(self.conv1(x)))
        if self.avd_first is not None:
            out = self.avd_first(out)
        out = self.conv2(out)
        if self.avd_last is not None:
            out = self.avd_last(out)
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            shortcut = self.downsample(x)
        out += shortcut
        return self.act3(out)


def make_block(sd, p, cfg, stride, inplanes):
    block = cfg['block']
    args = cfg.get('block_args', {})
    sk = args.get('sk_kwargs', {})
    if block == 'BasicBlock':
        return BasicBlock(sd, p, stride, aa_kind(cfg))
    if block == 'Bottleneck':
        return Bottleneck(sd, p, stride, cfg.get('cardinality', 1), aa_kind(cfg))
    if block == 'SelectiveKernelBasic':
        return SelectiveKernelBasic(sd, p, stride, inplanes, sk.get('split_input', True))
    if block == 'SelectiveKernelBottleneck':
        return SelectiveKernelBottleneck(sd, p, stride, sk.get('split_input', True))
    if block == 'ResNestBottleneck':
        return ResNestBottleneck(sd, p, stride, args.get('radix', 2), args.get('avd_first', False))
    raise SystemExit(f'no replica for block {block}')


class ResNet(nn.Module):
    def __init__(self, sd, cfg):
        super().__init__()
        if 'conv1.0.weight' in sd:  # deep stem
            ws = [sd[f'conv1.{i}.weight'] for i in (0, 3, 6)]
            self.conv1 = nn.Sequential(
                conv(ws[0], 2, 1), norm(ws[0].shape[0]), nn.ReLU(inplace=True),
                conv(ws[1], 1, 1), norm(ws[1].shape[0]), nn.ReLU(inplace=True),
                conv(ws[2], 1, 1))
            inplanes = ws[2].shape[0]
        elif cfg.get('stem_type') == 'cifar':  # Cardinal's small-image stem: 3x3 stride 1, no pooling
            self.conv1 = conv(sd['conv1.weight'], 1, 1)
            inplanes = sd['conv1.weight'].shape[0]
        else:
            self.conv1 = conv(sd['conv1.weight'], 2, 3)
            inplanes = sd['conv1.weight'].shape[0]
        self.bn1 = norm(inplanes)
        self.act1 = nn.ReLU(inplace=True)
        aa = aa_kind(cfg)
        if cfg.get('stem_type') == 'cifar':
            self.maxpool = nn.Identity()
        elif 'maxpool.0.weight' in sd:  # replace_stem_pool: a 3x3 stride-2 conv-norm-ReLU
            self.maxpool = nn.Sequential(conv(sd['maxpool.0.weight'], 2, 1), norm(inplanes), nn.ReLU(inplace=True))
        elif aa == 'avg':
            self.maxpool = nn.AvgPool2d(2)
        elif aa == 'blur':
            self.maxpool = nn.Sequential(nn.MaxPool2d(3, 1, 1), BlurPool2d(inplanes, 2))
        else:
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        for s, n in enumerate(cfg['layers']):
            blocks = []
            for b in range(n):
                stride = 2 if s > 0 and b == 0 else 1
                blocks.append(make_block(sd, f'layer{s + 1}.{b}.', cfg, stride, inplanes))
                inplanes = sd[[k for k in sd if k.startswith(f'layer{s + 1}.{b}.') and k.endswith('weight')][-1]].shape[0]
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        self.stages = list(cfg['layers'])
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(sd['fc.weight'].shape[1], sd['fc.weight'].shape[0])

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for s in range(len(self.stages)):
            x = getattr(self, f'layer{s + 1}')(x)
        x = self.global_pool(x).flatten(1)
        return self.fc(x)


def build(meta, sd):
    cfg = meta['config']
    NORM['layer'] = group_norm if str(cfg.get('norm_layer', '')).lower() == 'groupnorm' else nn.BatchNorm2d
    if meta['kind'] == 'model':
        return ResNet(sd, cfg)
    module = cfg['module'].split('.')[-1]
    args = cfg['args']
    if module in ('Bottleneck', 'SelectiveKernelBottleneck', 'ResNestBottleneck'):
        block_cfg = {'block': module, 'cardinality': args.get('cardinality', args.get('groups', 1)),
                     'block_args': {k: args[k] for k in ('sk_kwargs', 'radix', 'avd_first') if k in args}}
        return make_block(sd, '', block_cfg, args.get('stride', 1), args['inplanes'])
    if module == 'SEModule':
        return SEModule(sd, '')
    if module == 'SelectiveKernel':
        return SelectiveKernel(sd, '', args['in_channels'], args.get('stride', 1), args.get('split_input', True))
    if module == 'SplitAttn':
        return SplitAttn(sd, '', args.get('radix', 2), args.get('stride', 1))
    raise SystemExit(f'no replica for {module}')


def main():
    fixtures, out_dir, jobs = sys.argv[1], sys.argv[2], sys.argv[3:]
    for job in jobs:
        name, opset, *dynamic = job.split(':')
        meta = json.load(open(f'{fixtures}/{name}/meta.json'))
        sd = read_safetensors(f'{fixtures}/{name}/weights.safetensors')
        m = build(meta, sd)
        m.load_state_dict(sd, strict=True)
        m.eval()
        x = torch.frombuffer(bytearray(open(f'{fixtures}/{name}/input.bin', 'rb').read()), dtype=torch.float32).reshape(meta['input_shape'])
        want = torch.frombuffer(bytearray(open(f'{fixtures}/{name}/output.bin', 'rb').read()), dtype=torch.float32).reshape(meta['output_shape'])
        with torch.no_grad():
            diff = (m(x) - want).abs().max().item()
        path = f'{out_dir}/{name}-{opset}.onnx'
        axes = {'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic else None
        torch.onnx.export(m, x, path, opset_version=int(opset), input_names=['input'], output_names=['output'],
                          dynamic_axes=axes)
        print(path, diff, meta['tolerance_hint']['atol'], flush=True)


if __name__ == '__main__':
    main()
