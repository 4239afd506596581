"""Per-patch ground truth for the training-only auxiliary loss: which shape (and colour) covers
each vision patch of each tile.

Why: a ViT learning shapes from caption/answer tokens alone is very slow (a from-scratch probe
reached ~40 % on 4-way shape classification where a small CNN reached ~99 % in the same steps):
its patch embedding has to learn edge detectors at every offset inside a patch from weak,
image-level signal. Telling it, at every patch, what covers that patch gives dense signal, and
the features the text model needs ("this token is part of a red circle") form quickly. The
auxiliary head is dropped after training; the exported model is the plain Llama 4 architecture.

The geometry follows transformers' Llama4ImageProcessor: the image is resized without distortion
into the canvas of tiles (never upscaled beyond one tile), placed top-left and padded; the global
thumbnail (multi-tile images only) is the whole image resized to one tile.
"""
from __future__ import annotations

import math

import numpy as np
import torch

import world

SHAPE_CLASSES = ("none",) + world.SHAPES
COLOUR_CLASSES = ("none",) + tuple(world.COLOURS)
# which shape from the left (1st, 2nd, 3rd): the relation behind "left", "right" and the order
# of the caption, hard to learn from answers alone
SLOT_CLASSES = ("none", "first", "second", "third")
SUBSAMPLES = 4  # points per patch side used to measure coverage
MIN_COVERAGE = 3 / 16  # a patch belongs to a shape if the shape covers at least this share of it


def _inside(shape: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    cx, cy, r = shape["cx"], shape["cy"], shape["size"] / 2
    if shape["shape"] == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape["shape"] == "square":
        return (np.abs(x - cx) <= r) & (np.abs(y - cy) <= r)
    polygon = world._polygon(shape["shape"], cx, cy, shape["size"])
    inside = np.zeros(x.shape, dtype=bool)
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):  # even-odd ray casting
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_cross)
    return inside


def _resized_size(height: int, width: int, canvas_h: int, canvas_w: int, tile: int) -> tuple[int, int]:
    target_h = min(max(height, tile), canvas_h)
    target_w = min(max(width, tile), canvas_w)
    scale_w, scale_h = target_w / width, target_h / height
    if scale_w < scale_h:
        return min(math.floor(height * scale_w), target_h), target_w
    return target_h, min(math.floor(width * scale_h), target_w)


def labels_for(record: dict, aspect_ratio, tile: int, patch: int) -> torch.Tensor:
    """[tiles, patches per tile, 3] long tensor of (shape class, colour class, slot class), tiles
    in the processor's order (row by row, then the global thumbnail)."""
    rows, cols = aspect_ratio
    height, width = record["height"], record["width"]
    per_side = tile // patch
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES * patch
    grid = (np.arange(per_side) * patch)[:, None] + offsets[None, :]  # [patch index, subsample]
    local_y = grid.reshape(-1)[:, None].repeat(per_side * SUBSAMPLES, 1)  # [tile px rows, tile px cols]
    local_x = grid.reshape(-1)[None, :].repeat(per_side * SUBSAMPLES, 0)

    views = []  # (image y, image x, valid) per tile
    new_h, new_w = _resized_size(height, width, rows * tile, cols * tile, tile)
    for r in range(rows):
        for c in range(cols):
            y, x = local_y + r * tile, local_x + c * tile
            views.append((y * height / new_h, x * width / new_w, (y < new_h) & (x < new_w)))
    if rows * cols > 1:
        views.append((local_y * height / tile, local_x * width / tile, np.ones_like(local_y, dtype=bool)))

    out = []
    for y, x, valid in views:
        shape_label = np.zeros((per_side, per_side), dtype=np.int64)
        colour_label = np.zeros((per_side, per_side), dtype=np.int64)
        slot_label = np.zeros((per_side, per_side), dtype=np.int64)
        best = np.zeros((per_side, per_side))
        for slot, s in enumerate(record["shapes"], start=1):  # the record lists shapes left to right
            covered = (_inside(s, x, y) & valid).reshape(per_side, SUBSAMPLES, per_side, SUBSAMPLES).mean(axis=(1, 3))
            take = (covered >= MIN_COVERAGE) & (covered > best)
            shape_label[take] = SHAPE_CLASSES.index(s["shape"])
            colour_label[take] = COLOUR_CLASSES.index(s["colour"])
            slot_label[take] = slot
            best = np.maximum(best, np.where(take, covered, best))
        out.append(np.stack([shape_label.reshape(-1), colour_label.reshape(-1), slot_label.reshape(-1)], axis=-1))
    return torch.from_numpy(np.stack(out))
