#!/usr/bin/python3
"""PyTorch reference for ssl-budget-bench's training: SimCLR or BYOL trained from a JSON *plan* exactly as the
TypeScript path does it (src/model/ssl_model.ts, engine/, datasets/augment/, src/runner/trial.ts), then probed
as src/eval/ does it. It exists to check that the tfjs engine *learns* as much as PyTorch does with the same
recipe: same architecture, initial distributions, augmentation, batch-norm handling, optimizer, schedule,
patch budget and probes; not the same random numbers.

Needs Debian's PyTorch (apt-get install -y python3-torch) and numpy; no torchvision.

Usage
  /usr/bin/python3 bench/parity/torch_ssl.py PLAN.json            train + evaluate, one JSON line on stdout
  /usr/bin/python3 bench/parity/torch_ssl.py --self-test [--method simclr|byol] [--channels 1|3]
        writes tiny IDX files (64 random 28x28 training images, 32 test images) and a plan to a temp dir and
        runs it (2 steps); prints the result line
  /usr/bin/python3 bench/parity/torch_ssl.py --write-test-plan DIR [--method ...] [--channels ...]
        writes that tiny plan and its IDX files into DIR and prints the plan's path (for the TypeScript side's tests)
  /usr/bin/python3 bench/parity/torch_ssl.py --replay FILE
        loads our parameters into the model a plan's model fields build, takes the given steps on the given crops
        and prints each step's loss and the parameters after it (see `replay`; test/parity_torch.test.ts compares)
  /usr/bin/python3 bench/parity/torch_ssl.py --check-references DIR
        checks this file's augmentation ops and losses against ../shared/reference (DIR): augment.json (1e-5
        absolute) and losses/{simclr-2view,simclr-multiview,byol}.json (their own tolerances); one JSON line
Progress goes to stderr. Exit status 0 on a result (also a diverged one), 2 on a bad plan.

Plan (JSON object; every field required unless marked optional; unknown fields are errors)
{
  "schema": "ssl-budget-bench/torch-parity-plan@1",   // optional; when present must be this string
  "method": "simclr" | "byol",
  "seed": 0,                         // integer: torch init, augmentation and batch order streams
  "threads": 2,                      // torch.set_num_threads
  "backbone": "resnet-small-cifar",  // resnet18 | resnet50 | resnet-small, optional suffix -cifar | -imagenet
                                     // (no suffix: cifar stem), as engine/nn/resnet.ts makeBackbone parses it
  "in_channels": 1,                  // stem input channels: 1 (grey) or 3 (RGB); equals data.image_shape[2]
  "projector": [2048, 256],          // layer sizes after the backbone's feature size (MethodConfig.projector)
  "projector_batch_norm": true,      // optional, default true: BN on the projector's hidden layers (MethodConfig.projectorBatchNorm)
  "predictor": [4096, 256] | null,   // sizes after the projector's output (MethodConfig.predictor); byol: required
  "loss": {"temperature": 0.2},      // simclr: {"temperature"}; byol: {} (no parameters)
  "ema": {"start": 0.99, "end": 1.0} | null,   // byol: required (its emaStart/emaEnd settings); simclr: null
  "optimizer": {
    "kind": "lars" | "sgd",
    "lr": 0.4,                       // peak learning rate (already scaled for batch_images, as configureMethod does)
    "weight_decay": 1e-4,
    "momentum": 0.9,
    "nesterov": false,
    "eta": 0.02,                     // lars: trust coefficient (ours defaults to 1e-3 when the config omits it)
    "clip": true,                    // lars: r = min(r / lr, 1)
    "eps": 1e-8,                     // optional, lars only; default 1e-8 (engine/optim/lars.ts)
    "exclude_bias_and_norm_from_decay": false,   // optional, sgd only; default false (what SslModel builds)
    "warmup": 0.01                   // fraction of the budget warming up linearly from 0, in [0, 1)
  },                                 // lars-only fields may be null or absent for sgd
  "batch_images": 256,               // images per step (capped at the pre-training set's size, as trial.ts does)
  "budget_crops": 2000000,           // patch budget: crops passed through the backbone
  "joint_batch_norm": false,         // true: a view spec's block (and the predictor's input) in one batch
  "recipe": {                        // datasets/augment/recipes.ts `Recipe` as JSON.stringify writes it, already
    "name": "...", "source": "...",  //   adapted to the dataset (adaptRecipe: view size, channel count)
    "views": [{
      "count": 2, "size": 28,
      "crop": {"scale": [0.08, 1], "ratio": [0.75, 1.3333333]},
      "flip": 0.5,
      "jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.2, "hue": 0.1, "p": 0.8} | null,
      "grayscale": 0.2,
      "blur": {"p": 0.1, "kernel": 3, "sigma": [0.1, 2.0]} | null,
      "solarize": 0.0,
      "normalize": {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.2435, 0.2616]}   // in_channels values each
    }]
  },
  "data": {
    "format": "idx",                 // MNIST IDX (ubyte); each file gzipped or plain (told apart by its bytes)
    "train_images": "path", "train_labels": "path",   // [N, H, W] (or [N, H, W, C]) and [N]
    "test_images": "path", "test_labels": "path",
    "image_shape": [28, 28, 1],      // [H, W, C]; checked against the files
    "classes": 10,                   // dataset.classes.length (kNN votes and probe outputs); labels < classes
    "pretrain_indices": null         // optional: training-file rows pre-training draws from; null/absent: all rows
  },
  "eval": {
    "layer": "backbone" | "pre-feature",   // optional, default "backbone"
    "train_indices": [...],          // probe-train rows of the training file (kNN bank and probe fit), as EvalSplits.train
    "val_indices": [...],            // validation rows of the training file (weight-decay choice), EvalSplits.val
    "test_indices": [...],           // rows of the test file, EvalSplits.test
    "knn": {"k": [20, 200], "temperature": 0.07},
    "linear": {"iterations": 300, "lr": 0.01, "weight_decays": [0, 1e-5, 1e-4, 1e-3],
               "solver": "adam" | "lbfgs"},    // solver optional (default adam)
    "bag": {"patches": [16], "repeats": 3, "max_train_images": null, "max_test_images": null} | null
                                     // optional (default null: centre view only), as EvaluateOptions.bag: the probe from
                                     // one draw of training patches, scored on `repeats` draws of test patches
  }
}
The probe's labels are read from the label files at those indices.

Result (one JSON line on stdout)
{ "schema": "ssl-budget-bench/torch-parity-result@1", "status": "ok" | "diverged", "error": null | "...",
  "method", "seed", "backbone", "in_channels", "params" (trainable parameters of backbone + heads, as
  countParams), "torch", "threads", "images_per_step", "crops_per_step", "steps", "crops", "images", "epochs",
  "progress", "train_seconds" (the training loop: batch reading, augmentation, steps), "eval_seconds",
  "final_loss" (last step's loss), "mean_loss" (all steps), "loss_curve" (16 means, by progress sixteenths,
  null where no step started), "final_lr" (lr of the last step),
  "linear", "linear_val", "linear_wd", "knn<k>" for each k, and with a bag: "bag<K>_linear_mean/_std",
  "bag<K>_knn<k0>_mean/_std" }   (metrics null when diverged)
"""

import argparse
import base64
import gzip
import json
import math
import os
import struct
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PLAN_SCHEMA = "ssl-budget-bench/torch-parity-plan@1"
RESULT_SCHEMA = "ssl-budget-bench/torch-parity-result@1"


def log(msg):
    print(f"[torch_ssl] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------
# Plan validation


class PlanError(Exception):
    pass


_NUM = (int, float)


def _is_num(v):
    return isinstance(v, _NUM) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _keys(obj, where, required, optional=()):
    if not isinstance(obj, dict):
        raise PlanError(f"{where} must be an object")
    missing = [k for k in required if k not in obj]
    if missing:
        raise PlanError(f"{where} is missing {', '.join(missing)}")
    unknown = [k for k in obj if k not in required and k not in optional]
    if unknown:
        raise PlanError(f"{where} has unknown field(s) {', '.join(unknown)} (known: {', '.join([*required, *optional])})")


def _num(obj, key, where, lo=None, hi=None, integer=False):
    v = obj[key]
    ok = _is_int(v) if integer else _is_num(v)
    if not ok:
        raise PlanError(f"{where}.{key} must be {'an integer' if integer else 'a finite number'}, got {v!r}")
    if lo is not None and v < lo:
        raise PlanError(f"{where}.{key} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise PlanError(f"{where}.{key} must be <= {hi}, got {v}")
    return v


def _bool(obj, key, where):
    if not isinstance(obj[key], bool):
        raise PlanError(f"{where}.{key} must be true or false, got {obj[key]!r}")
    return obj[key]


def _int_list(v, where, nonempty=True):
    if not isinstance(v, list) or (nonempty and not v) or not all(_is_int(x) and x > 0 for x in v):
        raise PlanError(f"{where} must be a {'non-empty ' if nonempty else ''}list of positive integers, got {v!r}")
    return v


def _pair(v, where):
    if not isinstance(v, list) or len(v) != 2 or not all(_is_num(x) for x in v) or v[0] > v[1]:
        raise PlanError(f"{where} must be [low, high] with low <= high, got {v!r}")
    return v


def _index_list(v, where, size):
    if not isinstance(v, list) or not all(_is_int(x) for x in v):
        raise PlanError(f"{where} must be a list of integer row indices")
    if v and (min(v) < 0 or max(v) >= size):
        raise PlanError(f"{where} has indices outside 0..{size - 1}")
    return np.asarray(v, dtype=np.int64)


def check_view(v, where, channels):
    _keys(v, where, ["count", "size", "crop", "flip", "jitter", "grayscale", "blur", "solarize", "normalize"])
    _num(v, "count", where, lo=1, integer=True)
    _num(v, "size", where, lo=1, integer=True)
    _keys(v["crop"], f"{where}.crop", ["scale", "ratio"])
    _pair(v["crop"]["scale"], f"{where}.crop.scale")
    r = _pair(v["crop"]["ratio"], f"{where}.crop.ratio")
    if r[0] <= 0:
        raise PlanError(f"{where}.crop.ratio must be positive")
    for k in ("flip", "grayscale", "solarize"):
        _num(v, k, where, lo=0, hi=1)
    if v["jitter"] is not None:
        j = v["jitter"]
        _keys(j, f"{where}.jitter", ["brightness", "contrast", "saturation", "hue", "p"])
        for k in ("brightness", "contrast", "saturation"):
            _num(j, k, f"{where}.jitter", lo=0)
        _num(j, "hue", f"{where}.jitter", lo=0, hi=0.5)
        _num(j, "p", f"{where}.jitter", lo=0, hi=1)
    if v["blur"] is not None:
        b = v["blur"]
        _keys(b, f"{where}.blur", ["p", "kernel", "sigma"])
        _num(b, "p", f"{where}.blur", lo=0, hi=1)
        k = _num(b, "kernel", f"{where}.blur", lo=1, integer=True)
        if k % 2 != 1:
            raise PlanError(f"{where}.blur.kernel must be odd, got {k}")
        s = _pair(b["sigma"], f"{where}.blur.sigma")
        if s[0] <= 0:
            raise PlanError(f"{where}.blur.sigma must be positive")
    n = v["normalize"]
    _keys(n, f"{where}.normalize", ["mean", "std"])
    for k in ("mean", "std"):
        xs = n[k]
        if not isinstance(xs, list) or len(xs) != channels or not all(_is_num(x) for x in xs):
            raise PlanError(f"{where}.normalize.{k} must list {channels} numbers (one per channel of in_channels), got {xs!r}")
    if not all(s > 0 for s in n["std"]):
        raise PlanError(f"{where}.normalize.std must be positive")


MODEL_FIELDS = ["method", "seed", "threads", "backbone", "in_channels", "projector", "predictor", "loss", "ema", "optimizer",
                "batch_images", "joint_batch_norm"]


def check_plan(plan, model_only=False):
    """Raises PlanError on anything missing, unknown or out of range; returns the plan with defaults filled in.
    model_only: the fields that build the model and its optimizer only (MODEL_FIELDS; --replay)."""
    top = MODEL_FIELDS + ([] if model_only else ["budget_crops", "recipe", "data", "eval"])
    _keys(plan, "plan", top, ["schema", "projector_batch_norm"])
    plan.setdefault("projector_batch_norm", True)
    _bool(plan, "projector_batch_norm", "plan")
    if "schema" in plan and plan["schema"] != PLAN_SCHEMA:
        raise PlanError(f"plan.schema must be {PLAN_SCHEMA!r}, got {plan['schema']!r}")
    if plan["method"] not in ("simclr", "byol"):
        raise PlanError(f"plan.method must be simclr or byol, got {plan['method']!r}")
    _num(plan, "seed", "plan", integer=True)
    _num(plan, "threads", "plan", lo=1, integer=True)
    parse_backbone(plan["backbone"])
    channels = _num(plan, "in_channels", "plan", integer=True)
    if channels not in (1, 3):
        raise PlanError(f"plan.in_channels must be 1 or 3, got {channels}")
    _int_list(plan["projector"], "plan.projector")
    byol = plan["method"] == "byol"
    if byol:
        if plan["predictor"] is None:
            raise PlanError("plan.predictor is required for byol")
        _int_list(plan["predictor"], "plan.predictor")
        if plan["ema"] is None:
            raise PlanError("plan.ema is required for byol")
        _keys(plan["ema"], "plan.ema", ["start", "end"])
        _num(plan["ema"], "start", "plan.ema", lo=0, hi=1)
        _num(plan["ema"], "end", "plan.ema", lo=0, hi=1)
        _keys(plan["loss"], "plan.loss", [])
    else:
        if plan["predictor"] is not None or plan["ema"] is not None:
            raise PlanError("plan.predictor and plan.ema must be null for simclr")
        _keys(plan["loss"], "plan.loss", ["temperature"])
        _num(plan["loss"], "temperature", "plan.loss", lo=1e-12)
    o = plan["optimizer"]
    _keys(o, "plan.optimizer", ["kind", "lr", "weight_decay", "momentum", "nesterov", "warmup"],
          ["eta", "clip", "eps", "exclude_bias_and_norm_from_decay"])
    if o["kind"] not in ("lars", "sgd"):
        raise PlanError(f"plan.optimizer.kind must be lars or sgd, got {o['kind']!r}")
    _num(o, "lr", "plan.optimizer", lo=0)
    _num(o, "weight_decay", "plan.optimizer", lo=0)
    _num(o, "momentum", "plan.optimizer", lo=0)
    _bool(o, "nesterov", "plan.optimizer")
    w = _num(o, "warmup", "plan.optimizer", lo=0)
    if w >= 1:
        raise PlanError(f"plan.optimizer.warmup must be in [0, 1), got {w}")
    if o["nesterov"] and not o["momentum"] > 0:
        raise PlanError("plan.optimizer: Nesterov momentum needs momentum > 0")
    if o["kind"] == "lars":
        for k in ("eta", "clip"):
            if o.get(k) is None:
                raise PlanError(f"plan.optimizer.{k} is required for lars")
        _num(o, "eta", "plan.optimizer", lo=0)
        _bool(o, "clip", "plan.optimizer")
        if o.get("eps") is None:
            o["eps"] = 1e-8
        _num(o, "eps", "plan.optimizer", lo=0)
        if o.get("exclude_bias_and_norm_from_decay") not in (None, True):
            # LARS always leaves biases and norm parameters out of decay and adaptation.
            raise PlanError("plan.optimizer.exclude_bias_and_norm_from_decay is sgd-only (lars always excludes them)")
    else:
        if o.get("exclude_bias_and_norm_from_decay") is None:
            o["exclude_bias_and_norm_from_decay"] = False
        _bool(o, "exclude_bias_and_norm_from_decay", "plan.optimizer")
    _num(plan, "batch_images", "plan", lo=1, integer=True)
    _bool(plan, "joint_batch_norm", "plan")
    if model_only:
        return plan
    _num(plan, "budget_crops", "plan", lo=1)
    r = plan["recipe"]
    _keys(r, "plan.recipe", ["views"], ["name", "source"])
    if not isinstance(r["views"], list) or not r["views"]:
        raise PlanError("plan.recipe.views must be a non-empty list")
    for i, v in enumerate(r["views"]):
        check_view(v, f"plan.recipe.views[{i}]", channels)
    d = plan["data"]
    _keys(d, "plan.data", ["format", "train_images", "train_labels", "test_images", "test_labels", "image_shape", "classes"],
          ["pretrain_indices"])
    if d["format"] != "idx":
        raise PlanError(f"plan.data.format must be idx, got {d['format']!r}")
    for k in ("train_images", "train_labels", "test_images", "test_labels"):
        if not isinstance(d[k], str) or not os.path.isfile(d[k]):
            raise PlanError(f"plan.data.{k}: no such file {d[k]!r}")
    shape = d["image_shape"]
    if not isinstance(shape, list) or len(shape) != 3 or not all(_is_int(x) and x > 0 for x in shape):
        raise PlanError(f"plan.data.image_shape must be [H, W, C], got {shape!r}")
    if shape[2] != channels:
        raise PlanError(f"plan.data.image_shape has {shape[2]} channels but plan.in_channels is {channels}")
    _num(d, "classes", "plan.data", lo=2, integer=True)
    e = plan["eval"]
    _keys(e, "plan.eval", ["train_indices", "val_indices", "test_indices", "knn", "linear"], ["layer", "bag"])
    e.setdefault("layer", "backbone")
    if e["layer"] not in ("backbone", "pre-feature"):
        raise PlanError(f"plan.eval.layer must be backbone or pre-feature, got {e['layer']!r}")
    _keys(e["knn"], "plan.eval.knn", ["k", "temperature"])
    _int_list(e["knn"]["k"], "plan.eval.knn.k")
    _num(e["knn"], "temperature", "plan.eval.knn", lo=1e-12)
    lin = e["linear"]
    _keys(lin, "plan.eval.linear", ["iterations", "lr", "weight_decays"], ["solver"])
    lin.setdefault("solver", "adam")
    if lin["solver"] not in ("adam", "lbfgs"):
        raise PlanError(f"plan.eval.linear.solver must be adam or lbfgs, got {lin['solver']!r}")
    _num(lin, "iterations", "plan.eval.linear", lo=0, integer=True)
    _num(lin, "lr", "plan.eval.linear", lo=0)
    wds = lin["weight_decays"]
    if not isinstance(wds, list) or not wds or not all(_is_num(x) and x >= 0 for x in wds):
        raise PlanError("plan.eval.linear.weight_decays must be a non-empty list of numbers >= 0")
    bag = e.get("bag")
    e["bag"] = bag
    if bag is not None:
        _keys(bag, "plan.eval.bag", ["patches", "repeats"], ["max_train_images", "max_test_images"])
        _int_list(bag["patches"], "plan.eval.bag.patches", nonempty=False)
        _num(bag, "repeats", "plan.eval.bag", lo=1, integer=True)
        for k in ("max_train_images", "max_test_images"):
            bag.setdefault(k, None)
            if bag[k] is not None:
                _num(bag, k, "plan.eval.bag", lo=1, integer=True)
    return plan


# ----------------------------------------------------------------------------------------------------------
# Data: MNIST IDX files (ubyte), gzipped or plain


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise PlanError(f"{path}: not an IDX file (bad magic {raw[:4].hex()})")
    if raw[2] != 0x08:
        raise PlanError(f"{path}: IDX element type 0x{raw[2]:02x}; only unsigned bytes (0x08) are supported")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    count = int(np.prod(dims))
    body = raw[4 + 4 * ndim:]
    if len(body) != count:
        raise PlanError(f"{path}: header says {dims} ({count} bytes) but the file holds {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load_images(path, shape):
    a = read_idx(path)
    h, w, c = shape
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or tuple(a.shape[1:]) != (h, w, c):
        raise PlanError(f"{path}: images of shape {list(a.shape[1:])}, the plan says image_shape {[h, w, c]}")
    return torch.from_numpy(a.copy())  # [N, H, W, C] uint8


def load_labels(path, n, classes):
    a = read_idx(path)
    if a.ndim != 1 or a.shape[0] != n:
        raise PlanError(f"{path}: expected {n} labels, got shape {list(a.shape)}")
    if a.size and int(a.max()) >= classes:
        raise PlanError(f"{path}: label {int(a.max())} >= classes ({classes})")
    return a.astype(np.int64)


def write_idx(path, array, gz=False):
    a = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape) + a.tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw) if gz else raw)


# ----------------------------------------------------------------------------------------------------------
# Augmentation: datasets/augment/pipeline.ts and ops.ts on batched tensors (torchvision 0.14 functional_tensor
# semantics). Images are float in [0, 1], NCHW inside the ops.


def js_round(x):
    """JavaScript's Math.round (halves up), which our crop box uses (torchvision's Python round() rounds halves to even)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def random_resized_crop_boxes(n, height, width, scale, ratio, rng):
    """randomResizedCropBox for n crops at once: 10 tries each at a random area and log-uniform aspect, first fit wins."""
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    target = area * (scale[0] + (scale[1] - scale[0]) * rng.random((n, 10)))
    aspect = np.exp(log_lo + (log_hi - log_lo) * rng.random((n, 10)))
    w = js_round(np.sqrt(target * aspect)).astype(np.int64)
    h = js_round(np.sqrt(target / aspect)).astype(np.int64)
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = np.argmax(fits, axis=1)
    any_fit = fits.any(axis=1)
    rows = np.arange(n)
    bh = np.where(any_fit, h[rows, first], 0)
    bw = np.where(any_fit, w[rows, first], 0)
    top = np.floor(rng.random(n) * (height - bh + 1)).astype(np.int64)
    left = np.floor(rng.random(n) * (width - bw + 1)).astype(np.int64)
    # Fallback: a centre crop at the nearest allowed aspect ratio.
    in_ratio = width / height
    fw, fh = width, height
    if in_ratio < ratio[0]:
        fh = int(js_round(fw / ratio[0]))
    elif in_ratio > ratio[1]:
        fw = int(js_round(fh * ratio[1]))
    ftop, fleft = (height - fh) // 2, (width - fw) // 2
    top = np.where(any_fit, top, ftop)
    left = np.where(any_fit, left, fleft)
    bh = np.where(any_fit, bh, fh)
    bw = np.where(any_fit, bw, fw)
    return top, left, bh, bw


def _source_coords(start, length, out):
    """PyTorch's bilinear source index (align_corners=False, clamped at 0) per crop: [n, out] rows/cols and weights."""
    scale = (length / out)[:, None]
    f = np.maximum(scale * (np.arange(out)[None, :] + 0.5) - 0.5, 0.0)
    i0 = np.floor(f).astype(np.int64)
    i1 = np.minimum(i0 + 1, length[:, None] - 1)
    frac = f - i0
    return start[:, None] + i0, start[:, None] + i1, frac


def resized_crops(images, which, top, left, bh, bw, size):
    """ops.resizedCrop for many crops at once: images [B, H, W, C] float32, which [n] image per crop -> [n, C, size, size]."""
    y0, y1, wy = _source_coords(top, bh, size)
    x0, x1, wx = _source_coords(left, bw, size)
    n_idx = torch.from_numpy(which)[:, None, None]
    Y0, Y1 = torch.from_numpy(y0)[:, :, None], torch.from_numpy(y1)[:, :, None]
    X0, X1 = torch.from_numpy(x0)[:, None, :], torch.from_numpy(x1)[:, None, :]
    wy = torch.from_numpy(wy)[:, :, None, None]
    wx = torch.from_numpy(wx)[:, None, :, None]
    src = images.double()
    a, b = src[n_idx, Y0, X0], src[n_idx, Y0, X1]
    c, d = src[n_idx, Y1, X0], src[n_idx, Y1, X1]
    out = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * c + wx * d)
    return out.float().permute(0, 3, 1, 2).contiguous()


def _luma(x):
    """rgb_to_grayscale's luma [n, 1, H, W] of RGB images [n, 3, H, W]."""
    return (0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def _blend(x, other, factor):
    """torchvision's _blend: clamp(factor * x + (1 - factor) * other, 0, 1); factor [n]."""
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * other).clamp(0, 1)


def adjust_brightness(x, factor):
    return _blend(x, torch.zeros_like(x), factor)


def adjust_contrast(x, factor):
    """Blends with the mean luma of each whole image (of a one-channel image: its mean)."""
    grey = _luma(x) if x.shape[1] == 3 else x
    return _blend(x, grey.mean(dim=(1, 2, 3), keepdim=True), factor)


def adjust_saturation(x, factor):
    if x.shape[1] == 1:
        return x
    return _blend(x, _luma(x), factor)


def _rgb2hsv(img):
    r, g, b = img.unbind(dim=-3)
    maxc = torch.max(img, dim=-3).values
    minc = torch.min(img, dim=-3).values
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_divisor = torch.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc), dim=-3)


def _hsv2rgb(img):
    h, s, v = img.unbind(dim=-3)
    i = torch.floor(h * 6.0)
    f = (h * 6.0) - i
    i = i.to(dtype=torch.int32)
    p = torch.clamp((v * (1.0 - s)), 0.0, 1.0)
    q = torch.clamp((v * (1.0 - s * f)), 0.0, 1.0)
    t = torch.clamp((v * (1.0 - s * (1.0 - f))), 0.0, 1.0)
    i = i % 6
    mask = i.unsqueeze(dim=-3) == torch.arange(6, device=i.device).view(-1, 1, 1)
    a1 = torch.stack((v, q, p, p, t, v), dim=-3)
    a2 = torch.stack((t, v, v, q, p, p), dim=-3)
    a3 = torch.stack((p, p, t, v, v, q), dim=-3)
    a4 = torch.stack((a1, a2, a3), dim=-4)
    return torch.einsum("...ijk, ...xijk -> ...xjk", mask.to(dtype=img.dtype), a4)


def adjust_hue(x, factor):
    """Hue rotated by factor [n] turns through torchvision's RGB <-> HSV; one channel unchanged."""
    if x.shape[1] == 1:
        return x
    h, s, v = _rgb2hsv(x).unbind(dim=-3)
    h = torch.remainder(h + factor.view(-1, 1, 1).to(h.dtype), 1.0)
    return _hsv2rgb(torch.stack((h, s, v), dim=-3))


def grayscale(x):
    """RandomGrayscale's output: three equal luma channels; one channel unchanged."""
    if x.shape[1] == 1:
        return x
    return _luma(x).expand_as(x).contiguous()


def solarize(x, threshold=0.5):
    return torch.where(x >= threshold, 1 - x, x)


def _reflect_index(n, size):
    """ops.ts reflect(): indices of a reflect-padded axis (the edge pixel not repeated), for any kernel size."""
    half = (size - 1) // 2
    i = np.arange(-half, n + half)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    j = np.mod(i, period)
    return np.where(j >= n, period - j, j)


def gaussian_kernels(size, sigma):
    """torchvision's _get_gaussian_kernel1d for each sigma [n] -> [n, size] (float64)."""
    half = (size - 1) * 0.5
    xs = np.linspace(-half, half, size)[None, :]
    k = np.exp(-0.5 * (xs / np.asarray(sigma, dtype=np.float64)[:, None]) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def gaussian_blur(x, size, sigma):
    """Separable Gaussian blur with reflection padding, a sigma per image; x [n, C, H, W]."""
    n, _, hgt, wid = x.shape
    k = torch.from_numpy(gaussian_kernels(size, sigma)).to(x.dtype)
    cols = torch.from_numpy(_reflect_index(wid, size))
    rows = torch.from_numpy(_reflect_index(hgt, size))
    xp = x.index_select(3, cols)
    tmp = sum(k[:, t].view(n, 1, 1, 1) * xp[..., t:t + wid] for t in range(size))
    tp = tmp.index_select(2, rows)
    return sum(k[:, t].view(n, 1, 1, 1) * tp[:, :, t:t + hgt, :] for t in range(size))


def normalize(x, mean, std):
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s


def _apply_where(x, mask, fn, *args):
    """x with fn(x[mask], *args[mask]) written back at mask (per-image random ops)."""
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        return x
    t = torch.from_numpy(idx)
    sub = fn(x.index_select(0, t), *[torch.from_numpy(np.asarray(a)[idx]) for a in args])
    x = x.clone()
    x[t] = sub
    return x


def augment_spec(images, spec, rng):
    """augmentView for every crop of one view spec: images [B, H, W, C] float32 in [0, 1] ->
    [count * B, C, size, size] float32, view-major (all images' view 0, then view 1, ...)."""
    b, height, width, _ = images.shape
    n = spec["count"] * b
    which = np.tile(np.arange(b), spec["count"])
    top, left, bh, bw = random_resized_crop_boxes(n, height, width, spec["crop"]["scale"], spec["crop"]["ratio"], rng)
    x = resized_crops(images, which, top, left, bh, bw, spec["size"])
    flip = rng.random(n) < spec["flip"]
    x = _apply_where(x, flip, lambda t: t.flip(-1))
    j = spec["jitter"]
    if j is not None:
        active = rng.random(n) < j["p"]

        def factors(strength):
            return rng.uniform(max(0.0, 1 - strength), 1 + strength, n).astype(np.float32)

        ops = [
            (j["brightness"], adjust_brightness, factors(j["brightness"])),
            (j["contrast"], adjust_contrast, factors(j["contrast"])),
            (j["saturation"], adjust_saturation, factors(j["saturation"])),
            (j["hue"], adjust_hue, rng.uniform(-j["hue"], j["hue"], n).astype(np.float32)),
        ]
        # ColorJitter's random order: a uniformly random permutation of the four adjustments per image.
        order = np.argsort(rng.random((n, 4)), axis=1)
        for position in range(4):
            for o, (strength, fn, f) in enumerate(ops):
                if strength > 0:
                    x = _apply_where(x, active & (order[:, position] == o), fn, f)
    x = _apply_where(x, rng.random(n) < spec["grayscale"], grayscale)
    blur = spec["blur"]
    if blur is not None:
        sel = rng.random(n) < blur["p"]
        sigma = rng.uniform(blur["sigma"][0], blur["sigma"][1], n)
        x = _apply_where(x, sel, lambda t, s: gaussian_blur(t, blur["kernel"], s.numpy()), sigma)
    x = _apply_where(x, rng.random(n) < spec["solarize"], solarize)
    return normalize(x, spec["normalize"]["mean"], spec["normalize"]["std"])


def augment_batch(images_u8, recipe, rng):
    """augmentBatch: uint8 [B, H, W, C] -> one block per view spec, each [count * B, C, size, size]."""
    images = images_u8.float() / 255
    return [augment_spec(images, spec, rng) for spec in recipe["views"]]


# ----------------------------------------------------------------------------------------------------------
# Networks: engine/nn/resnet.ts, layers.ts, mlp.ts (parameter names follow torchvision's, as ours do)

BACKBONES = {
    "resnet18": ("basic", [2, 2, 2, 2], [64, 128, 256, 512]),
    "resnet50": ("bottleneck", [3, 4, 6, 3], [64, 128, 256, 512]),
    "resnet-small": ("basic", [1, 1, 1, 1], [16, 32, 64, 128]),
}


def parse_backbone(spec):
    import re

    m = re.fullmatch(r"(resnet18|resnet50|resnet-small)(?:-(cifar|imagenet))?", spec if isinstance(spec, str) else "")
    if not m:
        valid = [v for b in BACKBONES for v in (b, f"{b}-cifar", f"{b}-imagenet")]
        raise PlanError(f'unknown backbone "{spec}"; valid: {", ".join(valid)}')
    return m.group(1), m.group(2) or "cifar"


def conv(cin, cout, k, stride=1, pad=0):
    return nn.Conv2d(cin, cout, k, stride, pad, bias=False)


def bn2d(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, width, 3, stride, 1), bn2d(width)
        self.conv2, self.bn2 = conv(width, width, 3, 1, 1), bn2d(width)
        self.downsample = None
        if stride != 1 or cin != width:
            self.downsample = nn.Sequential(conv(cin, width, 1, stride, 0), bn2d(width))
        self.out_channels = width

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1, self.bn1 = conv(cin, width, 1, 1, 0), bn2d(width)
        self.conv2, self.bn2 = conv(width, width, 3, stride, 1), bn2d(width)
        self.conv3, self.bn3 = conv(width, cout, 1, 1, 0), bn2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv(cin, cout, 1, stride, 0), bn2d(cout))
        self.out_channels = cout

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """torchvision's ResNet v1.5 without the classifier; stem cifar (3x3 s1 conv, no pool) or imagenet (7x7 s2, max-pool)."""

    def __init__(self, spec, in_channels):
        super().__init__()
        name, stem = parse_backbone(spec)
        block, layers, widths = BACKBONES[name]
        self.conv1 = conv(in_channels, widths[0], 7, 2, 3) if stem == "imagenet" else conv(in_channels, widths[0], 3, 1, 1)
        self.bn1 = bn2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1) if stem == "imagenet" else nn.Identity()
        make = BasicBlock if block == "basic" else Bottleneck
        channels = widths[0]
        for stage, count in enumerate(layers):
            blocks = []
            for i in range(count):
                blocks.append(make(channels, widths[stage], 2 if stage > 0 and i == 0 else 1))
                channels = blocks[-1].out_channels
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.stages = len(layers)
        self.feature_dim = channels

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for s in range(self.stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return x.mean(dim=(2, 3))


def mlp_head(dims, batch_norm=True):
    """mlpHead: Linear(bias) -> BN -> ReLU (or Linear -> ReLU without batch_norm) for every hidden layer, then a
    final Linear (indices as ours: 0, 1, 2, 3...)."""
    layers = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=True))
        if i < len(dims) - 2:
            layers += ([nn.BatchNorm1d(dims[i + 1], eps=1e-5, momentum=0.1)] if batch_norm else []) + [nn.ReLU()]
    return nn.Sequential(*layers)


def init_weights(modules, gen):
    """Our initialisation (engine/nn/layers.ts): conv kaiming-normal fan_out (std sqrt(2 / (out k k))), linear weight
    and bias uniform(+-1/sqrt(in)), batch-norm gamma 1 and beta 0, running mean 0 and variance 1."""
    with torch.no_grad():
        for root in modules:
            for m in root.modules():
                if isinstance(m, nn.Conv2d):
                    fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.normal_(0, math.sqrt(2 / fan_out), generator=gen)
                elif isinstance(m, nn.Linear):
                    bound = 1 / math.sqrt(m.in_features)
                    m.weight.uniform_(-bound, bound, generator=gen)
                    m.bias.uniform_(-bound, bound, generator=gen)
                elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                    m.weight.fill_(1)
                    m.bias.fill_(0)
                    m.running_mean.zero_()
                    m.running_var.fill_(1)


def param_groups(modules):
    """(parameter, group) pairs with our ParamGroup: conv and linear weights 'weight', linear biases 'bias', BN 'norm'."""
    out = []
    for root in modules:
        for m in root.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                out.append((m.weight, "weight"))
                if m.bias is not None:
                    out.append((m.bias, "bias"))
            elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                out += [(m.weight, "norm"), (m.bias, "norm")]
    return out


# ----------------------------------------------------------------------------------------------------------
# Optimizers and schedules: engine/optim/lars.ts, sgd.ts, optimizer.ts, schedule.ts


class Optimizer:
    def __init__(self, groups, o):
        self.groups = groups
        self.o = o
        self.buffers = {}

    @torch.no_grad()
    def step(self, lr):
        # As engine/train/step.ts: a step at rate 0 leaves parameters and momentum alone.
        if lr == 0:
            return
        o = self.o
        for i, (p, group) in enumerate(self.groups):
            g = p.grad
            if g is None:
                continue
            if o["kind"] == "lars":
                if group == "weight":
                    # Trust ratio on the raw gradient; biases and norm parameters take plain SGD steps, undecayed.
                    p_norm, g_norm = p.norm(), g.norm()
                    ratio = p_norm * o["eta"] / (g_norm + p_norm * o["weight_decay"] + o["eps"])
                    if o["clip"]:
                        ratio = torch.minimum(ratio / lr if lr != 0 else torch.full_like(ratio, math.inf), torch.ones_like(ratio))
                    apply = (p_norm > 0) & (g_norm > 0)
                    ratio = torch.where(apply, ratio, torch.ones_like(ratio))
                    decay = torch.where(apply, torch.tensor(float(o["weight_decay"])), torch.tensor(0.0))
                    g = (g + p * decay) * ratio
            else:
                decay = 0.0 if (o["exclude_bias_and_norm_from_decay"] and group != "weight") else o["weight_decay"]
                if decay != 0:
                    g = g + p * decay
            step = g
            if o["momentum"] != 0:
                buf = self.buffers.get(i)
                if buf is None:
                    buf = self.buffers[i] = torch.zeros_like(p)
                buf.mul_(o["momentum"]).add_(g)
                step = g + buf * o["momentum"] if o["nesterov"] else buf
            p.sub_(step * lr)


def warmup_cosine(progress, base, warmup, warmup_start_factor=0.0, final=0.0):
    p = min(max(progress, 0.0), 1.0)
    if p < warmup:
        return base * (warmup_start_factor + (1 - warmup_start_factor) * (p / warmup))
    t = p if warmup == 0 else (p - warmup) / (1 - warmup)
    return final + (base - final) * 0.5 * (1 + math.cos(math.pi * t))


def cosine_ramp(progress, start, end):
    p = min(max(progress, 0.0), 1.0)
    return end - (end - start) * 0.5 * (1 + math.cos(math.pi * p))


# ----------------------------------------------------------------------------------------------------------
# Losses: methods/simclr.ts and methods/byol.ts


def simclr_loss(z, temperature):
    """NT-Xent, multi-view: z [V, B, D]; positives = the other views of the same image, self excluded."""
    v, b, d = z.shape
    n = v * b
    flat = F.normalize(z.reshape(n, d), dim=1, eps=1e-12)
    sim = flat @ flat.T / temperature
    image = torch.arange(n) % b
    eye = torch.eye(n, dtype=torch.bool)
    positives = (image[:, None] == image[None, :]) & ~eye
    log_den = torch.logsumexp(sim.masked_fill(eye, -math.inf), dim=1)
    log_num = torch.logsumexp(sim.masked_fill(~positives, -math.inf), dim=1)
    return (log_den - log_num).mean()


def byol_loss(p, zt):
    """Sum over ordered view pairs i != j of mean_b (2 - 2 cos(p_i, zt_j)); zt carries no gradient."""
    ps = F.normalize(p, dim=-1, eps=1e-12)
    ts = F.normalize(zt.detach(), dim=-1, eps=1e-12)
    total = p.new_zeros(())
    for i in range(ps.shape[0]):
        for j in range(ts.shape[0]):
            if i != j:
                total = total + (2 - 2 * (ps[i] * ts[j]).sum(-1)).mean()
    return total


# ----------------------------------------------------------------------------------------------------------
# The model and its step: src/model/ssl_model.ts


class SslModel:
    def __init__(self, plan, gen):
        self.plan = plan
        self.backbone = ResNet(plan["backbone"], plan["in_channels"])
        self.projector = mlp_head([self.backbone.feature_dim, *plan["projector"]], plan["projector_batch_norm"])
        embed = plan["projector"][-1]
        self.predictor = mlp_head([embed, *plan["predictor"]]) if plan["predictor"] else None
        self.online = [m for m in (self.backbone, self.projector, self.predictor) if m is not None]
        init_weights(self.online, gen)
        self.target = None
        if plan["ema"] is not None:
            # BYOL's target: a copy of backbone + projector moved by EMA only. It runs with batch statistics; its
            # own running-statistics updates are dropped (momentum 0), they follow the online ones by EMA instead.
            self.target = (ResNet(plan["backbone"], plan["in_channels"]), mlp_head([self.backbone.feature_dim, *plan["projector"]], plan["projector_batch_norm"]))
            self.copy_to_target()
            for t in self.target:
                for m in t.modules():
                    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                        m.momentum = 0.0
                t.train()
                t.requires_grad_(False)
        self.optimizer = Optimizer(param_groups(self.online), plan["optimizer"])

    def copy_to_target(self):
        for t, o in zip(self.target, (self.backbone, self.projector)):
            t.load_state_dict(o.state_dict())

    def named_parameters(self):
        """The online parameters under our names (src/model/ssl_model.ts): the backbone's, projector.*, predictor.*."""
        out = dict(self.backbone.named_parameters())
        for prefix, m in (("projector", self.projector), ("predictor", self.predictor)):
            if m is not None:
                out.update({f"{prefix}.{k}": v for k, v in m.named_parameters()})
        return out

    def param_count(self):
        return sum(p.numel() for m in self.online for p in m.parameters())

    def _per_view(self, x, images, f):
        """f on a view-major block at once (joint batch norm, or a single view) or one view of `images` crops at a time."""
        if self.plan["joint_batch_norm"] or x.shape[0] == images:
            return f(x)
        return torch.cat([f(v) for v in x.split(images, 0)], 0)

    def _project(self, blocks, images, backbone, projector):
        outs = [self._per_view(x, images, lambda v: projector(backbone(v))) for x in blocks]
        z = torch.cat(outs, 0) if len(outs) > 1 else outs[0]
        return z.reshape(z.shape[0] // images, images, z.shape[1])

    def learning_rate(self, progress):
        o = self.plan["optimizer"]
        return warmup_cosine(progress, o["lr"], o["warmup"])

    def step(self, blocks, images, progress):
        lr = self.learning_rate(progress)
        zt = None
        if self.target is not None:
            with torch.no_grad():
                zt = self._project(blocks, images, *self.target)
        for m in self.online:
            m.train()
            for p in m.parameters():
                p.grad = None
        z = self._project(blocks, images, self.backbone, self.projector)
        if self.plan["method"] == "simclr":
            loss = simclr_loss(z, self.plan["loss"]["temperature"])
        else:
            flat = z.reshape(-1, z.shape[2])
            p = self._per_view(flat, images, self.predictor)
            loss = byol_loss(p.reshape(-1, images, p.shape[1]), zt)
        value = float(loss.detach())
        if not math.isfinite(value):
            return value, lr
        loss.backward()
        self.optimizer.step(lr)
        if self.target is not None:
            e = self.plan["ema"]
            tau = cosine_ramp(progress, e["start"], e["end"])
            with torch.no_grad():
                for t, o in zip(self.target, (self.backbone, self.projector)):
                    for (_, tp), (_, op) in zip(t.named_parameters(), o.named_parameters()):
                        tp.mul_(tau).add_(op, alpha=1 - tau)
                    for (name, tb), (_, ob) in zip(t.named_buffers(), o.named_buffers()):
                        if not name.endswith("num_batches_tracked"):
                            tb.mul_(tau).add_(ob, alpha=1 - tau)
        return value, lr

    def embed_modules(self, layer):
        """The backbone, plus the projector's first Linear-BN-ReLU (Linear-ReLU) for the pre-feature (src/eval/embed.ts)."""
        if layer == "backbone":
            return [self.backbone]
        first = list(self.projector.children())
        return [self.backbone, nn.Sequential(*first[: 3 if self.plan["projector_batch_norm"] else 2])]


# ----------------------------------------------------------------------------------------------------------
# The training loop: src/runner/trial.ts (patch budget, batches without replacement), src/runner/budget.ts


def batch_indices(seed, size, consumed, count, cache):
    """The next `count` rows after `consumed` in a fresh seeded permutation per epoch (batchIndices)."""
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        n = consumed + i
        e = n // size
        if e not in cache:
            cache.clear()
            cache[e] = np.random.default_rng([seed, 2, e]).permutation(size)
        out[i] = cache[e][n % size]
    return out


def train(plan, model, train_images, deadline_log=10.0):
    pretrain = plan["data"].get("pretrain_indices")
    rows = np.arange(train_images.shape[0]) if pretrain is None else pretrain
    size = len(rows)
    images = min(plan["batch_images"], size)
    crops_per_step = sum(v["count"] for v in plan["recipe"]["views"]) * images
    budget = plan["budget_crops"]
    aug_rng = np.random.default_rng([plan["seed"], 1])
    perm_cache = {}
    steps = crops = consumed = 0
    losses, bins = [], [[] for _ in range(16)]
    last_lr = None
    status, error = "ok", None
    t0 = time.perf_counter()
    last_log = t0
    while True:
        # takeAnotherStep: the first step always; then while it ends nearer the budget than stopping now would.
        if steps > 0 and not (crops + crops_per_step / 2 <= budget):
            break
        idx = rows[batch_indices(plan["seed"], size, consumed, images, perm_cache)]
        blocks = augment_batch(train_images[torch.from_numpy(idx)], plan["recipe"], aug_rng)
        progress = min(1.0, crops / budget)
        loss, lr = model.step(blocks, images, progress)
        if not math.isfinite(loss):
            status = "diverged"
            error = f"{plan['method']}: the loss became {loss} at progress {progress:.3f}; lower the learning rate ({lr:.2e} now)"
            log(error)
            break
        steps += 1
        consumed += images
        crops += sum(b.shape[0] for b in blocks)
        losses.append(loss)
        bins[min(15, int(progress * 16))].append(loss)
        last_lr = lr
        now = time.perf_counter()
        if now - last_log >= deadline_log or steps == 1:
            last_log = now
            log(f"step {steps}: {100 * min(1.0, crops / budget):.1f}% of {budget:.3g} crops, loss {loss:.4f}, lr {lr:.3g}, "
                f"{crops / (now - t0):.0f} crops/s")
    seconds = time.perf_counter() - t0
    log(f"trained {steps} steps, {crops} crops in {seconds:.1f} s")
    return {
        "status": status,
        "error": error,
        "images_per_step": images,
        "crops_per_step": crops_per_step,
        "steps": steps,
        "crops": crops,
        "images": consumed,
        "epochs": consumed / size,
        "progress": min(1.0, crops / budget),
        "train_seconds": seconds,
        "final_loss": losses[-1] if losses else None,
        "mean_loss": float(np.mean(losses)) if losses else None,
        "loss_curve": [float(np.mean(b)) if b else None for b in bins],
        "final_lr": last_lr,
    }


# ----------------------------------------------------------------------------------------------------------
# Evaluation: src/eval/evaluate.ts, embed.ts, knn.ts, linear_probe.ts

CROPS_PER_CHUNK = 1024


@torch.no_grad()
def features(model, images_u8, indices, plan, patches, rng):
    """[len(indices), D] embeddings in eval mode: the whole image normalised like the training views (patches None),
    or the mean embedding of `patches` crops made with the recipe's first view spec."""
    spec = plan["recipe"]["views"][0]
    modules = model.embed_modules(plan["eval"]["layer"])
    for m in modules:
        m.eval()
    per_chunk = max(1, CROPS_PER_CHUNK // (patches or 1))
    parts = []
    for start in range(0, len(indices), per_chunk):
        ids = torch.from_numpy(np.asarray(indices[start:start + per_chunk], dtype=np.int64))
        block = images_u8[ids]
        if patches is None:
            x = normalize(block.float().div(255).permute(0, 3, 1, 2), spec["normalize"]["mean"], spec["normalize"]["std"])
        else:
            x = augment_spec(block.float() / 255, {**spec, "count": patches}, rng)
        h = x
        for m in modules:
            h = m(h)
        views = patches or 1
        parts.append(h.reshape(views, len(ids), h.shape[1]).mean(0))
    for m in model.online:
        m.train()
    return torch.cat(parts, 0) if parts else torch.zeros(0, 1)


def knn_accuracy(bank, bank_labels, query, query_labels, ks, temperature, classes):
    """Weighted kNN: cosine similarity, the k most similar vote exp(sim / T), largest total wins (ties: lowest class)."""
    k_max = min(max(ks), bank.shape[0])
    bank_t = F.normalize(bank, dim=-1, eps=1e-12).T
    bank_labels = torch.from_numpy(bank_labels)
    correct = {k: 0 for k in ks}
    ql = torch.from_numpy(query_labels)
    for start in range(0, query.shape[0], 256):
        q = F.normalize(query[start:start + 256], dim=-1, eps=1e-12)
        sims, idx = torch.topk(q @ bank_t, k_max, dim=1)
        votes = bank_labels[idx]
        weights = torch.exp(sims.double() / temperature)
        for k in ks:
            kk = min(k, k_max)
            scores = torch.zeros(q.shape[0], classes, dtype=torch.float64)
            scores.scatter_add_(1, votes[:, :kk], weights[:, :kk])
            correct[k] += int((scores.argmax(1) == ql[start:start + 256]).sum())
    return {k: correct[k] / query.shape[0] for k in ks}


def linear_probe(train, val, test, classes, settings):
    """Multinomial logistic regression on standardised features, full-batch Adam (tfjs's: eps 1e-7), one model per
    weight decay trained together; the decay chosen on validation (ties: first listed), scored on test."""
    (xtr, ytr), (xv, yv), (xt, yt) = train, val, test
    d = xtr.shape[1]
    wds = settings["weight_decays"]
    g = len(wds)
    with torch.no_grad():
        mean = xtr.mean(0, keepdim=True)
        std = (xtr - mean).pow(2).mean(0, keepdim=True).sqrt() + 1e-6
        xs, xvs, xts = [(x - mean) / std for x in (xtr, xv, xt)]
    y_onehot = F.one_hot(torch.from_numpy(ytr), classes).float()
    decay = torch.tensor(wds, dtype=torch.float32)
    w = torch.zeros(d, g * classes, requires_grad=True)
    b = torch.zeros(g * classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=settings["lr"], betas=(0.9, 0.999), eps=1e-7)

    def logits(x):
        return (x @ w + b).reshape(x.shape[0], g, classes)

    for _ in range(settings["iterations"]):
        opt.zero_grad(set_to_none=True)
        log_probs = F.log_softmax(logits(xs), dim=-1)
        ce = -(log_probs * y_onehot[:, None, :]).sum() / xs.shape[0]
        l2 = (w.reshape(d, g, classes).pow(2).sum(dim=(0, 2)) * decay).sum()
        (ce + 0.5 * l2).backward()
        opt.step()
    with torch.no_grad():
        pv, pt = logits(xvs).argmax(2), logits(xts).argmax(2)
        val_acc = (pv == torch.from_numpy(yv)[:, None]).float().mean(0).tolist() if len(yv) else [0.0] * g
        test_acc = (pt == torch.from_numpy(yt)[:, None]).float().mean(0).tolist() if len(yt) else [0.0] * g
    best = 0
    for m in range(1, g):
        if val_acc[m] > val_acc[best]:
            best = m
    return {"test": test_acc[best], "val": val_acc[best], "weight_decay": wds[best]}


def logistic_probe(train, val, tests, classes, weight_decays):
    """The Adam probe's objective solved to convergence (src/eval/logistic_probe.ts), here by torch.optim.LBFGS with a
    strong-Wolfe line search in float64: weight decays from the largest down, each from the previous solution; the
    decay chosen on validation (ties: first listed), scored on each test set. A convex objective: both reach its optimum."""
    (xtr, ytr), (xv, yv) = train, val
    x = xtr.double()
    mean = x.mean(0, keepdim=True)
    std = (x - mean).pow(2).mean(0, keepdim=True).sqrt() + 1e-6
    xs = (x - mean) / std
    y = torch.from_numpy(ytr).long()
    w = torch.zeros(xs.shape[1], classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)

    def accuracy(xe, ye):
        if not len(ye):
            return 0.0
        with torch.no_grad():
            pred = (((xe.double() - mean) / std) @ w + b).argmax(1)
        return (pred == torch.from_numpy(ye).long()).double().mean().item()

    solutions = {}
    for wd in sorted(set(weight_decays), reverse=True):
        opt = torch.optim.LBFGS([w, b], lr=1, max_iter=500, tolerance_grad=1e-7, tolerance_change=1e-12, history_size=10,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(xs @ w + b, y) + 0.5 * wd * w.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            objective = float(F.cross_entropy(xs @ w + b, y) + 0.5 * wd * w.pow(2).sum())
        solutions[wd] = (accuracy(xv, yv), [accuracy(xt, yt) for xt, yt in tests], objective)
    best = weight_decays[0]
    for wd in weight_decays:
        if solutions[wd][0] > solutions[best][0]:
            best = wd
    return {"tests": solutions[best][1], "val": solutions[best][0], "weight_decay": best, "objective": solutions[best][2]}


def probe(train, val, tests, classes, settings, regularisers=None):
    """The plan's linear probe (src/eval/evaluate.ts probe()): L-BFGS or Adam; `regularisers` limits the choice."""
    if settings["solver"] == "lbfgs":
        return logistic_probe(train, val, tests, classes, regularisers or settings["weight_decays"])
    s = {**settings, "weight_decays": regularisers} if regularisers else settings
    results = [linear_probe(train, val, t, classes, s) for t in tests]
    return {"tests": [r["test"] for r in results], "val": results[0]["val"], "weight_decay": results[0]["weight_decay"]}


def subsample(indices, labels, max_count):
    """At most max_count evenly spaced entries of a split."""
    if max_count is None or len(indices) <= max_count:
        return indices, labels
    step = len(indices) / max_count
    keep = np.floor(np.arange(max_count) * step).astype(np.int64)
    return indices[keep], labels[keep]


def evaluate(plan, model, data):
    e = plan["eval"]
    classes = plan["data"]["classes"]
    tr_i, va_i, te_i = e["train_indices"], e["val_indices"], e["test_indices"]
    tr_y, va_y, te_y = data["train_labels"][tr_i], data["train_labels"][va_i], data["test_labels"][te_i]
    rng = np.random.default_rng([plan["seed"], 3])
    f_train = features(model, data["train_images"], tr_i, plan, None, rng)
    f_val = features(model, data["train_images"], va_i, plan, None, rng)
    f_test = features(model, data["test_images"], te_i, plan, None, rng)
    ks = e["knn"]["k"]
    knn = knn_accuracy(f_train, tr_y, f_test, te_y, ks, e["knn"]["temperature"], classes)
    centre = probe((f_train, tr_y), (f_val, va_y), [(f_test, te_y)], classes, e["linear"])
    metrics = {"linear": centre["tests"][0], "linear_val": centre["val"], "linear_wd": centre["weight_decay"]}
    for k in ks:
        metrics[f"knn{k}"] = knn[k]
    bag = e["bag"]
    if bag is not None:
        b_tr_i, b_tr_y = subsample(tr_i, tr_y, bag["max_train_images"])
        b_te_i, b_te_y = subsample(te_i, te_y, bag["max_test_images"])
        k0 = ks[0]
        for patches in bag["patches"]:
            # One draw of the training images' patches; each repeat draws the test images' anew (evaluate.ts).
            ftr = features(model, data["train_images"], b_tr_i, plan, patches, rng)
            tests = [(features(model, data["test_images"], b_te_i, plan, patches, rng), b_te_y) for _ in range(bag["repeats"])]
            kn = [knn_accuracy(ftr, b_tr_y, fte, b_te_y, [k0], e["knn"]["temperature"], classes)[k0] for fte, _ in tests]
            lin = probe((ftr, b_tr_y), tests[0], tests, classes, e["linear"], [centre["weight_decay"]])["tests"]
            sd = (lambda xs: float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0)
            metrics[f"bag{patches}_linear_mean"] = float(np.mean(lin))
            metrics[f"bag{patches}_linear_std"] = sd(lin)
            metrics[f"bag{patches}_knn{k0}_mean"] = float(np.mean(kn))
            metrics[f"bag{patches}_knn{k0}_std"] = sd(kn)
    return metrics


# ----------------------------------------------------------------------------------------------------------
# Entry points


def load_data(plan):
    d = plan["data"]
    shape = d["image_shape"]
    train_images = load_images(d["train_images"], shape)
    test_images = load_images(d["test_images"], shape)
    data = {
        "train_images": train_images,
        "test_images": test_images,
        "train_labels": load_labels(d["train_labels"], train_images.shape[0], d["classes"]),
        "test_labels": load_labels(d["test_labels"], test_images.shape[0], d["classes"]),
    }
    e = plan["eval"]
    n_train, n_test = train_images.shape[0], test_images.shape[0]
    e["train_indices"] = _index_list(e["train_indices"], "plan.eval.train_indices", n_train)
    e["val_indices"] = _index_list(e["val_indices"], "plan.eval.val_indices", n_train)
    e["test_indices"] = _index_list(e["test_indices"], "plan.eval.test_indices", n_test)
    if len(e["train_indices"]) < 2 or len(e["test_indices"]) < 1:
        raise PlanError("plan.eval needs at least 2 probe-train rows and 1 test row")
    if d.get("pretrain_indices") is not None:
        d["pretrain_indices"] = _index_list(d["pretrain_indices"], "plan.data.pretrain_indices", n_train)
        if len(d["pretrain_indices"]) == 0:
            raise PlanError("plan.data.pretrain_indices is empty")
    return data


def run_plan(plan):
    plan = check_plan(plan)
    torch.set_num_threads(plan["threads"])
    torch.manual_seed(plan["seed"])
    data = load_data(plan)
    gen = torch.Generator().manual_seed(plan["seed"])
    model = SslModel(plan, gen)
    log(f"{plan['method']} on {plan['backbone']} ({plan['in_channels']} channel(s)), {model.param_count()} parameters, "
        f"budget {plan['budget_crops']:.3g} crops, {plan['threads']} thread(s)")
    trained = train(plan, model, data["train_images"])
    result = {
        "schema": RESULT_SCHEMA,
        "method": plan["method"],
        "seed": plan["seed"],
        "backbone": plan["backbone"],
        "in_channels": plan["in_channels"],
        "params": model.param_count(),
        "torch": torch.__version__,
        "threads": plan["threads"],
        **trained,
    }
    metric_names = ["linear", "linear_val", "linear_wd", *[f"knn{k}" for k in plan["eval"]["knn"]["k"]]]
    t0 = time.perf_counter()
    if trained["status"] == "ok":
        result.update(evaluate(plan, model, data))
        log(f"linear {100 * result['linear']:.1f}%, " + ", ".join(f"knn{k} {100 * result[f'knn{k}']:.1f}%" for k in plan["eval"]["knn"]["k"]))
    else:
        result.update({k: None for k in metric_names})
    result["eval_seconds"] = time.perf_counter() - t0
    return result


def write_test_plan(directory, method="simclr", channels=1, n_train=64, n_test=32, side=28):
    """A tiny plan (random images, small heads, 2 steps) over IDX files written to `directory`; returns its path."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(7)
    shape = (side, side) if channels == 1 else (side, side, channels)
    files = {}
    for split, n in (("train", n_train), ("test", n_test)):
        files[f"{split}_images"] = os.path.join(directory, f"{split}-images-idx{4 if channels > 1 else 3}-ubyte" + (".gz" if split == "train" else ""))
        files[f"{split}_labels"] = os.path.join(directory, f"{split}-labels-idx1-ubyte")
        write_idx(files[f"{split}_images"], rng.integers(0, 256, (n, *shape)), gz=split == "train")
        write_idx(files[f"{split}_labels"], rng.integers(0, 10, n))
    batch = 16
    views = 2
    mean = [0.4914, 0.4822, 0.4465] if channels == 3 else [0.4734]
    std = [0.247, 0.2435, 0.2616] if channels == 3 else [0.2507]
    view = {
        "count": views,
        "size": side,
        "crop": {"scale": [0.08, 1], "ratio": [3 / 4, 4 / 3]},
        "flip": 0.5,
        "jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.2, "hue": 0.1, "p": 0.8},
        "grayscale": 0.2,
        "blur": {"p": 0.5, "kernel": 3, "sigma": [0.1, 2.0]},
        "solarize": 0.2,
        "normalize": {"mean": mean, "std": std},
    }
    byol = method == "byol"
    plan = {
        "schema": PLAN_SCHEMA,
        "method": method,
        "seed": 0,
        "threads": 1,
        "backbone": "resnet-small-cifar",
        "in_channels": channels,
        "projector": [64, 32],
        "predictor": [64, 32] if byol else None,
        "loss": {} if byol else {"temperature": 0.2},
        "ema": {"start": 0.99, "end": 1.0} if byol else None,
        "optimizer": {"kind": "lars", "lr": 0.4, "weight_decay": 1e-4, "momentum": 0.9, "nesterov": False, "eta": 0.02,
                      "clip": True, "eps": 1e-8, "warmup": 0.01},
        "batch_images": batch,
        # Two steps: after the second, another would end farther from the budget than stopping.
        "budget_crops": 2 * batch * views,
        "joint_batch_norm": False,
        "recipe": {"name": "self-test", "source": "torch_ssl.py --self-test", "views": [view]},
        "data": {"format": "idx", **files, "image_shape": [side, side, channels], "classes": 10, "pretrain_indices": None},
        "eval": {
            "layer": "backbone",
            "train_indices": list(range(0, n_train - 8)),
            "val_indices": list(range(n_train - 8, n_train)),
            "test_indices": list(range(n_test)),
            "knn": {"k": [20], "temperature": 0.07},
            # One probe per method, so the smoke runs both: Adam for SimCLR, L-BFGS for BYOL.
            "linear": {"iterations": 10, "lr": 0.01, "weight_decays": [1e-4, 1e-2], "solver": "lbfgs" if byol else "adam"},
            "bag": {"patches": [2], "repeats": 2, "max_train_images": 24, "max_test_images": 16},
        },
    }
    path = os.path.join(directory, f"plan-{method}-{channels}ch.json")
    with open(path, "w") as f:
        json.dump(plan, f, indent=1)
    return path


def check_references(directory):
    """Max errors of the ops against augment.json and of the losses against losses/*.json, with pass/fail."""
    out = {"augment": {}, "losses": {}}
    ok = True
    ref = json.load(open(os.path.join(directory, "augment.json")))
    img = torch.tensor(ref["image"]["data"], dtype=torch.float32).reshape(ref["image"]["shape"])[None]
    one = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    ops = {
        "brightness": lambda x, p: adjust_brightness(x, one(p["factor"])),
        "contrast": lambda x, p: adjust_contrast(x, one(p["factor"])),
        "saturation": lambda x, p: adjust_saturation(x, one(p["factor"])),
        "hue": lambda x, p: adjust_hue(x, one(p["factor"])),
        "grayscale": lambda x, p: grayscale(x),
        "solarize": lambda x, p: solarize(x, p["threshold"]),
        "gaussian_blur": lambda x, p: gaussian_blur(x, p["kernel_size"], np.array([p["sigma"]])),
        "hflip": lambda x, p: x.flip(-1),
        "resized_crop": lambda x, p: resized_crops(
            x.permute(0, 2, 3, 1), np.array([0]), np.array([p["top"]]), np.array([p["left"]]), np.array([p["height"]]),
            np.array([p["width"]]), p["size"][0]),
        "normalize": lambda x, p: normalize(x, p["mean"], p["std"]),
    }
    for c in ref["cases"]:
        got = ops[c["op"]](img, c["params"])[0]
        want = torch.tensor(c["expected"]["data"], dtype=torch.float32).reshape(c["expected"]["shape"])
        err = float((got - want).abs().max()) if got.shape == want.shape else math.inf
        out["augment"][f"{c['op']} {json.dumps(c['params'], sort_keys=True)}"] = err
        ok = ok and err < 1e-5
    for name in ("simclr-2view", "simclr-multiview", "byol"):
        path = os.path.join(directory, "losses", f"{name}.json")
        if not os.path.exists(path):
            continue
        r = json.load(open(path))
        ins = {k: torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"]).requires_grad_() for k, v in r["inputs"].items()}
        loss = simclr_loss(ins["z"], r["params"]["temperature"]) if r["method"] == "simclr" else byol_loss(ins["p"], ins["zt"])
        loss.backward()
        want = r["expected"]["loss"]
        loss_rel = abs(float(loss) - want) / max(abs(want), 1e-30)
        grads = {}
        for k, v in r["expected"].get("grad", {}).items():
            e = torch.tensor(v["data"], dtype=torch.float64)
            g = ins[k].grad.double().flatten()
            grads[k] = float((g - e).norm() / e.norm().clamp_min(1e-30))
        tol = r["tolerance"]
        passed = loss_rel < tol["loss_rel"] and all(x < tol["grad_rel"] for x in grads.values())
        out["losses"][name] = {"loss_rel": loss_rel, "grad_rel": grads, "ok": passed}
        ok = ok and passed
    out["ok"] = ok
    return out


# ----------------------------------------------------------------------------------------------------------
# Replay: steps from given weights and crops (both engines must compute the same step)


def _from_b64(text, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype="<f4").copy()).reshape(shape)


def _to_b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode("ascii")


def _torch_layout(t):
    """Ours -> PyTorch: conv [KH, KW, Ci, Co] -> [Co, Ci, KH, KW]; linear [in, out] -> [out, in]."""
    return t.permute(3, 2, 0, 1) if t.dim() == 4 else t.t() if t.dim() == 2 else t


def _our_layout(t):
    return t.permute(2, 3, 1, 0) if t.dim() == 4 else t.t() if t.dim() == 2 else t


def replay(spec):
    """Loads our initial parameters into the model `spec["plan"]` builds (model fields only), takes one step per
    entry of spec["steps"] ({"progress", "views": [{"shape": [N, S, S, C], "data": base64 float32 NHWC}]}, one
    block per view spec, spec["images"] images each), in spec["dtype"] ("float32", or "float64" for the exact
    step float32 implementations are measured against), and returns each step's loss and the parameters after
    it, in our names, layouts and encoding (float32)."""
    _keys(spec, "replay", ["plan", "params", "images", "steps"], ["dtype"])
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    if spec.get("dtype", "float32") not in dtypes:
        raise PlanError(f"replay.dtype must be float32 or float64, got {spec['dtype']!r}")
    dtype = dtypes[spec.get("dtype", "float32")]
    plan = check_plan(spec["plan"], model_only=True)
    torch.set_num_threads(plan["threads"])
    model = SslModel(plan, torch.Generator().manual_seed(plan["seed"]))
    for m in model.online + list(model.target or ()):
        m.to(dtype)  # in place: the optimizer keeps the same Parameter objects
    params = model.named_parameters()
    given = spec["params"]
    if sorted(given) != sorted(params):
        missing, extra = sorted(set(params) - set(given)), sorted(set(given) - set(params))
        raise PlanError(f"replay parameters differ from the model's: missing {missing[:5]}, unknown {extra[:5]}")
    with torch.no_grad():
        for name, p in params.items():
            value = _torch_layout(_from_b64(given[name]["data"], given[name]["shape"]))
            if tuple(value.shape) != tuple(p.shape):
                raise PlanError(f"replay parameter {name}: shape {list(value.shape)} (PyTorch layout), model has {list(p.shape)}")
            p.copy_(value)
        if model.target is not None:
            model.copy_to_target()
    out = []
    for step in spec["steps"]:
        blocks = [_from_b64(v["data"], v["shape"]).permute(0, 3, 1, 2).to(dtype).contiguous() for v in step["views"]]
        loss, _ = model.step(blocks, spec["images"], step["progress"])
        out.append({"loss": loss, "params": {name: _to_b64(_our_layout(p).float()) for name, p in params.items()}})
    return {"steps": out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("plan", nargs="?", help="plan JSON file")
    ap.add_argument("--self-test", action="store_true", help="run a tiny generated plan (2 steps) in a temp dir")
    ap.add_argument("--write-test-plan", metavar="DIR", help="write the tiny plan and its IDX files to DIR")
    ap.add_argument("--check-references", metavar="DIR", help="check ops and losses against ../shared/reference")
    ap.add_argument("--replay", metavar="FILE", help="steps from given weights and crops (JSON); prints losses and parameters")
    ap.add_argument("--method", default="simclr", choices=["simclr", "byol"], help="method of the tiny plan")
    ap.add_argument("--channels", type=int, default=1, choices=[1, 3], help="channels of the tiny plan's images")
    a = ap.parse_args(argv)
    try:
        if a.check_references:
            torch.set_num_threads(1)
            r = check_references(a.check_references)
            print(json.dumps(r))
            return 0 if r["ok"] else 1
        if a.replay:
            with open(a.replay) as f:
                spec = json.load(f)
            print(json.dumps(replay(spec)))
            return 0
        if a.write_test_plan:
            print(write_test_plan(a.write_test_plan, a.method, a.channels))
            return 0
        if a.self_test:
            with tempfile.TemporaryDirectory(prefix="torch_ssl_") as tmp:
                with open(write_test_plan(tmp, a.method, a.channels)) as f:
                    plan = json.load(f)
                result = run_plan(plan)
        elif a.plan:
            with open(a.plan) as f:
                plan = json.load(f)
            result = run_plan(plan)
        else:
            ap.error("give a plan file, --self-test, --write-test-plan DIR or --check-references DIR")
    except PlanError as e:
        print(f"torch_ssl.py: bad plan: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
