"""Offline oracle: transformers' Llama4ImageProcessor on synthetic images -> preprocess_goldens.json.

Run with torch 2.13 (CPU, AVX2), torchvision 0.29, transformers 5.18 (the versions that reproduce
../shared/fixtures/hf-tiny-llama4 bit for bit):  python make_preprocess_goldens.py > preprocess_goldens.json
The synthetic image formula is repeated in Llama4ImagePreprocessorTest.synthetic().
"""
import hashlib, json, sys
import numpy as np
import torch, transformers, torchvision
from PIL import Image
from transformers.models.llama4.image_processing_llama4 import Llama4ImageProcessor

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

def synthetic(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    out = np.empty((h, w, 3), np.uint8)
    for c in range(3):
        # smooth ramps plus a hashed texture, so resizing and padding both show
        v = (x * 255 // max(w - 1, 1)) * (c != 1) + (y * 255 // max(h - 1, 1)) * (c != 0) + ((x * 31 + y * 17 + c * 71) * (x ^ y) + c * 29) % 53
        out[..., c] = (v & 255).astype(np.uint8)
    return out

CASES = []
for w, h in [(1, 1), (1, 500), (500, 1), (13, 7), (57, 56), (56, 57), (111, 113), (200, 300), (640, 480),
             (1000, 37), (37, 1000), (999, 999), (1234, 567), (224, 224), (168, 112), (55, 55), (30, 20)]:
    CASES.append(dict(width=w, height=h, tile=56, max_tiles=16, mean=[0.5] * 3, std=[0.5] * 3, resize_to_max_canvas=False))
for w, h in [(1024, 768), (2000, 1500), (3000, 1000), (336, 337)]:
    CASES.append(dict(width=w, height=h, tile=336, max_tiles=16, mean=[0.5] * 3, std=[0.5] * 3, resize_to_max_canvas=False))
for w, h in [(800, 600), (600, 2000)]:
    CASES.append(dict(width=w, height=h, tile=336, max_tiles=4, mean=[0.5] * 3, std=[0.5] * 3, resize_to_max_canvas=False))
for w, h in [(300, 200), (80, 56)]:
    CASES.append(dict(width=w, height=h, tile=56, max_tiles=16, mean=CLIP_MEAN, std=CLIP_STD, resize_to_max_canvas=False))
for w, h in [(80, 56), (30, 20), (300, 200)]:
    CASES.append(dict(width=w, height=h, tile=56, max_tiles=16, mean=[0.5] * 3, std=[0.5] * 3, resize_to_max_canvas=True))

out = []
for case in CASES:
    proc = Llama4ImageProcessor(size={"height": case["tile"], "width": case["tile"]}, max_patches=case["max_tiles"],
                                image_mean=case["mean"], image_std=case["std"], resize_to_max_canvas=case["resize_to_max_canvas"])
    r = proc(images=[Image.fromarray(synthetic(case["width"], case["height"]))], return_tensors="pt")
    pv = r["pixel_values"].float().numpy().astype("<f4")
    case = dict(case, grid=[int(v) for v in r["aspect_ratios"][0]], n_tiles=int(pv.shape[0]),
                tile_sha256=[hashlib.sha256(t.tobytes()).hexdigest() for t in pv],
                tile_sum=[float(t.astype(np.float64).sum()) for t in pv])
    out.append(case)
json.dump(dict(oracle=f"transformers {transformers.__version__} Llama4ImageProcessor, torch {torch.__version__}, torchvision {torchvision.__version__}",
               tile_format="float32 little-endian [3][tile][tile] per tile, sha256 of its bytes", cases=out), sys.stdout, indent=1)
