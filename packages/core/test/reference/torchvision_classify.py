"""The classify reference: a torchvision ResNet (timm's architecture of the same name, same
state_dict keys) with random weights and random BatchNorm statistics, written as a timm model
folder (config.json with a non-default pretrained_cfg and label names, pytorch_model.bin by
torch.save), then run by PyTorch on images through torchvision's transform with that config.

usage: torchvision_classify.py <folder> <image>...   prints JSON: per image the top-5 and features
Run with Debian's python3."""
import json
import math
import os
import sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms

folder, images = sys.argv[1], sys.argv[2:]
torch.manual_seed(7)
NUM_CLASSES = 10
model = torchvision.models.resnet18(num_classes=NUM_CLASSES)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.2)
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
model.eval()

cfg = {
    'input_size': [3, 176, 176],
    'interpolation': 'bicubic',
    'crop_pct': 0.95,
    'crop_mode': 'center',
    'mean': [0.5, 0.45, 0.4],
    'std': [0.25, 0.2, 0.3],
    'num_classes': NUM_CLASSES,
}
labels = ['tench', 'goldfinch', 'écureuil', 'great, white shark', 'say "cheese"',
          'ant', 'bee', 'cat', 'dog', 'eel']
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, 'config.json'), 'w') as f:
    json.dump({'architecture': 'resnet18.cardinal_test', 'num_classes': NUM_CLASSES,
               'num_features': 512, 'pretrained_cfg': cfg, 'label_names': labels}, f)
torch.save(model.state_dict(), os.path.join(folder, 'pytorch_model.bin'))

size = cfg['input_size'][1]
interp = {'bicubic': transforms.InterpolationMode.BICUBIC,
          'bilinear': transforms.InterpolationMode.BILINEAR}[cfg['interpolation']]
transform = transforms.Compose([
    transforms.Resize(math.floor(size / cfg['crop_pct']), interpolation=interp),
    transforms.CenterCrop(size),
    transforms.ToTensor(),
    transforms.Normalize(cfg['mean'], cfg['std']),
])
features = {}
model.fc.register_forward_hook(lambda mod, inp, out: features.__setitem__('x', inp[0]))
out = []
with torch.no_grad():
    for path in images:
        x = transform(Image.open(path).convert('RGB')).unsqueeze(0)
        logits = model(x)[0]
        prob = torch.softmax(logits.double(), 0)
        top = torch.topk(prob, 5)
        out.append({
            'file': path,
            'top': [{'index': int(i), 'label': labels[int(i)], 'prob': float(p), 'logit': float(logits[int(i)])}
                    for p, i in zip(top.values, top.indices)],
            'features': features['x'][0].tolist(),
        })
print(json.dumps(out))
