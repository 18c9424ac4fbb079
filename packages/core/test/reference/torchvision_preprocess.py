"""torchvision's evaluation transform on real photographs, the reference for Cardinal's
preprocessing: for each image and configuration, the PIL-decoded pixels (after convert('RGB') or
convert('L')) and the tensors torchvision makes, as .npy. Run with Debian's python3 with
python3-torchvision, python3-pil and python3-skimage:
    torchvision_preprocess.py <out_dir>"""
import json, math, os, sys
import numpy as np
from PIL import Image
from torchvision import transforms as T

out = sys.argv[1]
DATA = '/usr/lib/python3/dist-packages/skimage/data'
# RGB, grayscale, RGBA and palette images; square and not; PNG (lossless) and JPEG.
IMAGES = ['astronaut.png', 'camera.png', 'coffee.png', 'chelsea.png', 'horse.png', 'logo.png',
          'green_palette.png', 'motorcycle_left.png', 'rocket.jpg', 'hubble_deep_field.jpg', 'coins.png']
MODES = {'bilinear': T.InterpolationMode.BILINEAR, 'bicubic': T.InterpolationMode.BICUBIC,
         'nearest': T.InterpolationMode.NEAREST}
CONFIGS = [
    dict(size=224, interpolation='bilinear', crop_pct=0.875, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], channels=3),
    dict(size=224, interpolation='bicubic', crop_pct=0.95, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5], channels=3),
    dict(size=97, interpolation='bilinear', crop_pct=0.9, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], channels=3),
    dict(size=161, interpolation='bicubic', crop_pct=1.0, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], channels=3),
    dict(size=64, interpolation='nearest', crop_pct=0.875, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], channels=3),
    dict(size=28, interpolation='bilinear', crop_pct=1.0, mean=[0.2860], std=[0.3530], channels=1),
]
cases = []
for i, name in enumerate(IMAGES):
    img = Image.open(os.path.join(DATA, name))
    for j, cfg in enumerate(CONFIGS):
        im = img.convert('RGB' if cfg['channels'] == 3 else 'L')
        pixels = np.asarray(im, dtype=np.uint8)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        scale = math.floor(cfg['size'] / cfg['crop_pct'])
        tf = T.Compose([T.Resize(scale, interpolation=MODES[cfg['interpolation']]), T.CenterCrop(cfg['size'])])
        cropped = tf(im)
        x = T.ToTensor()(cropped)
        y = T.Normalize(cfg['mean'], cfg['std'])(x)
        key = f'{i}-{j}'
        np.save(os.path.join(out, f'{key}-pixels.npy'), pixels)
        np.save(os.path.join(out, f'{key}-totensor.npy'), x.numpy())
        np.save(os.path.join(out, f'{key}-normalized.npy'), y.numpy())
        cases.append(dict(key=key, image=name, mode=img.mode, **cfg))
json.dump(cases, open(os.path.join(out, 'cases.json'), 'w'))
print(len(cases))
