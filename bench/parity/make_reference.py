"""Makes the project's reference fixtures (test/fixtures/reference/) with PyTorch, in float64.

    /usr/bin/python3 bench/parity/make_reference.py --out test/fixtures/reference

writes, in the formats of ../shared/reference (see test/fixtures/reference/README.md):

  losses/*.json  one loss evaluation each: the loss, its named terms and d loss / d input, from the formula
                 in each file's `note` (the methods' losses as the sources write them);
  flops.json     forward multiply-accumulates of every conv and linear layer, per image, and parameter
                 counts, of ResNet-18/50 (torchvision's definitions, rebuilt here with the same layer names,
                 so that plain python3-torch suffices) with the CIFAR and the ImageNet stem, and of
                 EMP-SSL's projector;
  augment.json   torchvision's functional transforms on one small image (needs torchvision; skipped with
                 a message, leaving the file as it is, where torchvision is not installed).

Needs Debian's PyTorch: `apt-get install -y python3-torch` (and python3-torchvision for augment.json), then
run with /usr/bin/python3.

A loss fixture's inputs are data, not recomputed: where `--inputs-from DIR` (default: the --out folder) already
holds that fixture, its input tensors are kept and only the expected values are computed again; a fixture with
no file yet draws its inputs from its own seed. So regenerating in place changes no input, and the expected values
change only where a formula here changes. (The eight fixtures that came from ../shared/reference keep that
folder's inputs; mocov2plus.json's were drawn here.) The augmentation image is always drawn from its seed.

Options:
  --out DIR          folder to write (created if missing)
  --inputs-from DIR  folder whose existing fixtures' inputs to keep (default: --out)
  --only LIST        comma-separated subset of: losses, flops, augment (default: all three)
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

TOLERANCE = {"loss_rel": 1e-4, "grad_rel": 1e-3}

# ---------------------------------------------------------------------------------------------------------
# Losses. Each takes float64 tensors (requires_grad set on the inputs whose gradient the fixture gives) and
# the fixture's params; returns (loss, terms) where terms maps a name to a scalar or a tensor.


def normalize(x):
    return F.normalize(x, dim=-1)


def emp_ssl(inputs, p):
    z = inputs["z"]
    n, b, d = z.shape
    zn = normalize(z)
    eye = torch.eye(d)
    logdets = torch.stack([torch.logdet(eye + d / (b * p["eps"]) * zn[i].T @ zn[i]) for i in range(n)])
    tcr = -(0.5 * logdets).mean()
    mean = zn.mean(0, keepdim=True).expand_as(zn)
    invariance = -F.cosine_similarity(zn, mean, dim=-1).mean()
    loss = p["lambda_inv"] * invariance + p["lambda_tcr"] * tcr
    return loss, {"tcr": tcr, "invariance": invariance}


def simclr(inputs, p):
    z = inputs["z"]
    v, b, d = z.shape
    flat = normalize(z.reshape(v * b, d))
    sim = flat @ flat.T / p["temperature"]
    image = torch.arange(v * b) % b
    self_mask = torch.eye(v * b, dtype=torch.bool)
    positives = (image[:, None] == image[None, :]) & ~self_mask
    e = torch.exp(sim)
    num = (e * positives).sum(1)
    den = e.masked_fill(self_mask, 0).sum(1)
    return -torch.log(num / den).mean(), {}


def byol(inputs, p):
    ps = normalize(inputs["p"])
    ts = normalize(inputs["zt"].detach())
    total = 0
    for i in range(ps.shape[0]):
        for j in range(ts.shape[0]):
            if i != j:
                total = total + (2 - 2 * (ps[i] * ts[j]).sum(-1)).mean()
    return total, {}


def vicreg(inputs, p):
    z = inputs["z"]
    z1, z2 = z[0], z[1]
    b, d = z1.shape
    invariance = F.mse_loss(z1, z2)
    variance = 0
    covariance = 0
    off = ~torch.eye(d, dtype=torch.bool)
    for v in (z1, z2):
        std = torch.sqrt(v.var(dim=0, unbiased=True) + 1e-4)
        variance = variance + F.relu(1 - std).mean() / 2
        c = v - v.mean(0)
        cov = c.T @ c / (b - 1)
        covariance = covariance + cov[off].pow(2).sum() / d
    loss = p["sim_w"] * invariance + p["var_w"] * variance + p["cov_w"] * covariance
    return loss, {"invariance": invariance, "variance": variance, "covariance": covariance}


def barlow_twins(inputs, p):
    z = inputs["z"]
    z1, z2 = z[0], z[1]
    b, d = z1.shape

    def standardise(x):
        return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)

    c = standardise(z1).T @ standardise(z2) / b
    diag = torch.diagonal(c)
    on_diagonal = (1 - diag).pow(2).sum()
    off_diagonal = c[~torch.eye(d, dtype=torch.bool)].pow(2).sum()
    return on_diagonal + p["lambd"] * off_diagonal, {"on_diagonal": on_diagonal, "off_diagonal": off_diagonal}


def sinkhorn(scores, eps, iters):
    # solo-learn's SinkhornKnopp: Q = exp(scores / eps)^T [K, B] made a joint distribution, then rows, columns.
    q = torch.exp(scores / eps).T
    q = q / q.sum()
    k, b = q.shape
    for _ in range(iters):
        q = q / q.sum(1, keepdim=True) / k
        q = q / q.sum(0, keepdim=True) / b
    return (q * b).T


def swav(inputs, p):
    z = normalize(inputs["z"])
    protos = normalize(inputs["prototypes"])
    views = z.shape[0]
    n_global = int(p["n_global"])
    scores = [z[v] @ protos.T for v in range(views)]
    terms = {}
    total = 0
    for i in range(n_global):
        with torch.no_grad():
            codes = sinkhorn(scores[i].detach(), p["eps"], int(p["iters"]))
        if i == 0:
            terms["codes_view0"] = codes
        per_view = 0
        for v in range(views):
            if v != i:
                per_view = per_view - (codes * F.log_softmax(scores[v] / p["temperature"], dim=1)).sum(1).mean()
        total = total + per_view / (views - 1)
    return total / n_global, terms


def mocov2plus(inputs, p):
    # solo-learn's MoCo v2+ (methods/mocov2plus.py, losses/mocov2plus.py): each view's query against the
    # other view's key and the queue of that other view's past keys.
    z, zt, queue = inputs["z"], inputs["zt"].detach(), inputs["queue"].detach()
    q = normalize(z)
    k = normalize(zt)

    def moco(query, key, negatives):
        pos = (query * key).sum(-1, keepdim=True)
        neg = query @ negatives.T
        logits = torch.cat([pos, neg], 1) / p["temperature"]
        return F.cross_entropy(logits, torch.zeros(query.shape[0], dtype=torch.long))

    return (moco(q[0], k[1], queue[1]) + moco(q[1], k[0], queue[0])) / 2, {}


def unit_rows(x):
    return normalize(x)


# name, method, note, params, inputs {name: (shape, transform or None)}, inputs with a gradient, seed, loss
LOSS_FIXTURES = [
    (
        "emp-ssl",
        "emp-ssl",
        "z: [patches, images, dim] raw projector outputs; rows are L2-normalised inside the loss; tcr = -(1/n) sum_i "
        "0.5*logdet(I_d + d/(b*eps) Z_i^T Z_i); invariance = -(1/n) sum_i mean_j cos(z_ij, mean_i z_ij); "
        "loss = lambda_inv*invariance + lambda_tcr*tcr",
        {"eps": 0.2, "lambda_inv": 200.0, "lambda_tcr": 1.0},
        {"z": ([4, 8, 16], None)},
        ["z"],
        101,
        emp_ssl,
    ),
    (
        "emp-ssl-wide",
        "emp-ssl",
        "same loss, more images than dimensions",
        {"eps": 0.2, "lambda_inv": 200.0, "lambda_tcr": 1.0},
        {"z": ([4, 32, 8], None)},
        ["z"],
        102,
        emp_ssl,
    ),
    (
        "simclr-2view",
        "simclr",
        "z: [views, images, dim]; NT-Xent over all views*images anchors, positives = other views of the same image "
        "(summed inside the log), self excluded from the denominator",
        {"temperature": 0.2},
        {"z": ([2, 8, 16], None)},
        ["z"],
        103,
        simclr,
    ),
    (
        "simclr-multiview",
        "simclr",
        "the same loss with more than two views",
        {"temperature": 0.2},
        {"z": ([4, 8, 16], None)},
        ["z"],
        104,
        simclr,
    ),
    (
        "byol",
        "byol",
        "p: online predictions [views, images, dim]; zt: target projections (no gradient); loss = sum over ordered "
        "view pairs i!=j of mean_b (2 - 2 cos(p_i, zt_j))",
        {},
        {"p": ([2, 8, 16], None), "zt": ([2, 8, 16], None)},
        ["p"],
        105,
        byol,
    ),
    (
        "vicreg",
        "vicreg",
        "z: [2, images, dim]; invariance = MSE; variance = mean over the two views of mean_d relu(1 - "
        "sqrt(var_unbiased + 1e-4)); covariance = sum over views of sum offdiag(cov_unbiased)^2 / d",
        {"sim_w": 25.0, "var_w": 25.0, "cov_w": 1.0},
        {"z": ([2, 8, 16], None)},
        ["z"],
        106,
        vicreg,
    ),
    (
        "barlow-twins",
        "barlow-twins",
        "z: [2, images, dim]; each view standardised per dimension over the batch (biased variance, eps 1e-5); "
        "c = z1n^T z2n / b; loss = sum (1-c_ii)^2 + lambd * sum_{i!=j} c_ij^2",
        {"lambd": 0.0051},
        {"z": ([2, 8, 16], None)},
        ["z"],
        107,
        barlow_twins,
    ),
    (
        "swav-multicrop",
        "swav",
        "z: [views, images, dim], first n_global views are the large crops; rows of z and prototypes L2-normalised "
        "inside; codes = Sinkhorn-Knopp(exp(scores/eps)) with `iters` alternations (rows then columns), computed "
        "without gradient for the global views; loss = mean over global views i of mean over other views j of "
        "cross-entropy(codes_i, softmax(scores_j / temperature))",
        {"temperature": 0.1, "eps": 0.05, "iters": 3, "n_global": 2},
        {"z": ([4, 8, 16], None), "prototypes": ([10, 16], None)},
        ["z", "prototypes"],
        108,
        swav,
    ),
    (
        "mocov2plus",
        "mocov2plus",
        "solo-learn's MoCo v2+. z: [2, images, dim] online projections, zt: [2, images, dim] momentum-encoder "
        "projections (no gradient), neither normalised; queue: [2, K, dim] unit rows, queue[v] = past keys of view v "
        "(no gradient). q_v = normalize(z_v), k_v = normalize(zt_v); L(q, k, Q) = cross_entropy(cat([sum(q*k, -1, "
        "keepdim), q @ Q^T], 1) / temperature, target 0), mean over the batch; loss = (L(q_0, k_1, queue[1]) + "
        "L(q_1, k_0, queue[0])) / 2",
        {"temperature": 0.2},
        {"z": ([2, 8, 16], None), "zt": ([2, 8, 16], None), "queue": ([2, 32, 16], unit_rows)},
        ["z"],
        109,
        mocov2plus,
    ),
]


def tensor_json(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.flatten().tolist()}


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)
        f.write("\n")


def make_losses(out, inputs_from):
    for name, method, note, params, specs, with_grad, seed, fn in LOSS_FIXTURES:
        old = read_json(os.path.join(inputs_from, "losses", f"{name}.json"))
        gen = torch.Generator().manual_seed(seed)
        inputs = {}
        for key, (shape, transform) in specs.items():
            if old is not None:
                if old["inputs"][key]["shape"] != shape:
                    sys.exit(f"{name}: kept input {key} has shape {old['inputs'][key]['shape']}, expected {shape}")
                x = torch.tensor(old["inputs"][key]["data"], dtype=torch.float64).reshape(shape)
            else:
                x = torch.randn(*shape, generator=gen, dtype=torch.float64)
                if transform is not None:
                    x = transform(x)
            inputs[key] = x.clone().requires_grad_(key in with_grad)
        loss, terms = fn(inputs, params)
        loss.backward()
        fixture = {
            "name": name,
            "method": method,
            "note": note,
            "params": params,
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "expected": {
                "loss": loss.item(),
                "terms": {k: (v.item() if v.dim() == 0 else tensor_json(v)) for k, v in terms.items()},
                "grad": {k: tensor_json(inputs[k].grad) for k in with_grad},
            },
            "tolerance": TOLERANCE,
        }
        write_json(os.path.join(out, "losses", f"{name}.json"), fixture)
        print(f"losses/{name}.json: loss {loss.item():.10g}{' (inputs kept)' if old is not None else ' (inputs drawn)'}")


# ---------------------------------------------------------------------------------------------------------
# FLOPs: torchvision's ResNet, rebuilt with the same module names (torchvision/models/resnet.py, 0.14), so
# that the layer names and their order in the forward pass are torchvision's.


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet without its classifier (fc = Identity); cifar: 3x3 stride-1 stem, no max-pool."""

    def __init__(self, block, layers, cifar):
        super().__init__()
        self.inplanes = 64
        if cifar:
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()
        self.feature_dim = 512 * block.expansion

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def count_layers(model, x):
    layers = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module, _inputs, output):
        out = list(output.shape[1:])
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs = math.prod(out) * (module.in_channels // module.groups) * kh * kw
            kind = "conv"
        else:
            macs = math.prod(out) * module.in_features
            kind = "linear"
        layers.append({"layer": names[module], "kind": kind, "out": out, "macs": macs})

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(x)
    for h in handles:
        h.remove()
    return layers


def make_flops(out):
    result = {
        "note": "Forward multiply-accumulates of conv and linear layers only (batch norm, ReLU, pooling and additions "
        "left out), per image. FLOPs = 2 * MACs. torchvision model definitions; 'cifar' variants have a 3x3 "
        "stride-1 stem and no max-pool."
    }
    nets = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet50": (Bottleneck, [3, 4, 6, 3])}
    for key in ["resnet18-cifar@32", "resnet18-cifar@64", "resnet18@64", "resnet18@224", "resnet50-cifar@32", "resnet50@224"]:
        name, res = key.split("@")
        cifar = name.endswith("-cifar")
        block, blocks = nets[name.removesuffix("-cifar")]
        torch.manual_seed(0)
        model = ResNet(block, blocks, cifar).float()
        size = int(res)
        layers = count_layers(model, torch.zeros(1, 3, size, size, dtype=torch.float32))
        macs = sum(layer["macs"] for layer in layers)
        result[key] = {
            "input": [3, size, size],
            "feature_dim": model.feature_dim,
            "params": sum(p.numel() for p in model.parameters()),
            "macs_per_image": macs,
            "flops_per_image_forward": 2 * macs,
            "layers": layers,
        }
        print(f"flops.json: {key} {macs} MACs, {result[key]['params']} parameters")
    # EMP-SSL's projector (official code): Linear-BN-ReLU, Linear-BN-ReLU, Linear.
    head = nn.Sequential(
        nn.Linear(512, 4096), nn.BatchNorm1d(4096), nn.ReLU(), nn.Linear(4096, 4096), nn.BatchNorm1d(4096), nn.ReLU(),
        nn.Linear(4096, 1024),
    ).float()
    layers = count_layers(head, torch.zeros(2, 512, dtype=torch.float32))
    result["emp-ssl-projector 512-4096-4096-1024"] = {
        "macs_per_image": sum(layer["macs"] for layer in layers),
        "params": sum(p.numel() for p in head.parameters()),
    }
    write_json(os.path.join(out, "flops.json"), result)


# ---------------------------------------------------------------------------------------------------------
# Augmentation: torchvision.transforms.functional on a 3x12x16 float32 image (torch.manual_seed(11); torch.rand);
# the image and every output are written rounded to 7 decimals.

AUGMENT_CASES = [
    ("brightness", {"factor": 1.3}),
    ("contrast", {"factor": 0.6}),
    ("saturation", {"factor": 1.4}),
    ("hue", {"factor": 0.1}),
    ("hue", {"factor": -0.2}),
    ("grayscale", {}),
    ("solarize", {"threshold": 0.5}),
    ("gaussian_blur", {"kernel_size": 3, "sigma": 1.0}),
    ("hflip", {}),
    (
        "resized_crop",
        {"top": 2, "left": 3, "height": 8, "width": 8, "size": [16, 16], "interpolation": "bilinear", "antialias": False},
    ),
    ("normalize", {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}),
]


def make_augment(out):
    try:
        import torchvision
        import torchvision.transforms.functional as TF
        from torchvision.transforms import InterpolationMode
    except ImportError:
        print("augment.json: skipped, torchvision is not installed (apt-get install -y python3-torchvision)")
        return
    torch.manual_seed(11)
    image = torch.rand(3, 12, 16, dtype=torch.float32)  # stored rounded; the ops see the float32 values

    def apply(op, p):
        if op == "brightness":
            return TF.adjust_brightness(image, p["factor"])
        if op == "contrast":
            return TF.adjust_contrast(image, p["factor"])
        if op == "saturation":
            return TF.adjust_saturation(image, p["factor"])
        if op == "hue":
            return TF.adjust_hue(image, p["factor"])
        if op == "grayscale":
            return TF.rgb_to_grayscale(image, num_output_channels=3)
        if op == "solarize":
            return TF.solarize(image, p["threshold"])
        if op == "gaussian_blur":
            return TF.gaussian_blur(image, [p["kernel_size"]] * 2, [p["sigma"]] * 2)
        if op == "hflip":
            return TF.hflip(image)
        if op == "resized_crop":
            return TF.resized_crop(
                image, p["top"], p["left"], p["height"], p["width"], p["size"], InterpolationMode.BILINEAR, antialias=False
            )
        if op == "normalize":
            return TF.normalize(image, p["mean"], p["std"])
        raise ValueError(op)

    def rounded(t):
        return {"shape": list(t.shape), "data": [round(v, 7) for v in t.flatten().tolist()]}

    result = {
        "note": "torchvision.transforms.functional applied to `image` (CHW, float in [0,1]); gaussian blur pads by "
        "reflection; resized_crop crops rows top..top+height and cols left..left+width then resizes bilinearly "
        "without antialiasing (align_corners=False)",
        "torchvision": torchvision.__version__,
        "image": rounded(image),
        "cases": [{"op": op, "params": p, "expected": rounded(apply(op, p))} for op, p in AUGMENT_CASES],
    }
    write_json(os.path.join(out, "augment.json"), result)
    print(f"augment.json: {len(AUGMENT_CASES)} cases (torchvision {torchvision.__version__})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument("--inputs-from", help="folder whose fixtures' inputs to keep (default: --out)")
    parser.add_argument("--only", default="losses,flops,augment", help="comma-separated: losses, flops, augment")
    args = parser.parse_args()
    parts = args.only.split(",")
    unknown = set(parts) - {"losses", "flops", "augment"}
    if unknown:
        parser.error(f"unknown --only part(s): {', '.join(sorted(unknown))}")
    inputs_from = args.inputs_from or args.out
    if "losses" in parts:
        make_losses(args.out, inputs_from)
    if "flops" in parts:
        make_flops(args.out)
    if "augment" in parts:
        make_augment(args.out)


if __name__ == "__main__":
    main()
