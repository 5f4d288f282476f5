#!/usr/bin/env bash
# The GPU measurement of the webgpu backend, on a machine without Node (the device tool's H200): run from
# the repository root with .gpu/ (made by gpu/pack.sh) carried, e.g. with the device tool:
#   run(command="bash gpu/run-h200.sh", carry=[".gpu"], timeout_s=480)
# It writes to $OUT (default /tmp/gpu-out): the adapter and GPU, what --backend=auto picks, the engine
# benchmark on webgpu for ResNet-18 CIFAR at batch $CROPS (default 256) and the EMP-SSL step (10 images x
# 20 patches), PyTorch on the same GPU for the same shapes, and summary.json with the ratios.
# Environment: CROPS, EMP_CROPS (default 200: 10 images x 20 patches), STEPS (timed steps, default 10),
# SKIP_TORCH=1. A check on a CPU-only machine through lavapipe: CROPS=4 EMP_CROPS=20 STEPS=1 SKIP_TORCH=1.
set -uo pipefail
cd "$(dirname "$0")/.."
B=.gpu
OUT=${OUT:-/tmp/gpu-out}
CROPS=${CROPS:-256}
EMP_CROPS=${EMP_CROPS:-200}
STEPS=${STEPS:-10}
mkdir -p "$OUT" /tmp/gpu-node
[ -e "$B/node.gz" ] || { echo "error: $B/node.gz missing: run gpu/pack.sh and carry .gpu" >&2; exit 2; }
gunzip -c "$B/node.gz" > /tmp/gpu-node/node && chmod +x /tmp/gpu-node/node
DAWN="$B/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -e "$DAWN" ] || gunzip -c "$DAWN.gz" > "$DAWN"
NODE=/tmp/gpu-node/node
"$NODE" --version

# Dawn needs a Vulkan loader; the NVIDIA driver's ICD may sit outside the standard paths.
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$B"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/nvidia-smi.txt" 2>&1 || true

engine() { "$NODE" "$B/engine.mjs" --no-torch --json "$@"; }
echo "== auto (must pick webgpu on a hardware adapter)"
engine --backend=auto --cases=resnet18-cifar --crops=32 --steps=1 --warmup=0 > "$OUT/auto.jsonl" 2> "$OUT/auto.log"; tail -3 "$OUT/auto.log"
echo "== webgpu resnet18-cifar x $CROPS"
engine --backend=webgpu --cases=resnet18-cifar --crops="$CROPS" --steps="$STEPS" --warmup=2 > "$OUT/webgpu-resnet18.jsonl" 2> "$OUT/webgpu-resnet18.log"; tail -3 "$OUT/webgpu-resnet18.log"
echo "== webgpu emp-ssl ($((EMP_CROPS / 20)) x 20)"
engine --backend=webgpu --cases=emp-ssl --crops="$EMP_CROPS" --steps="$STEPS" --warmup=2 > "$OUT/webgpu-emp-ssl.jsonl" 2> "$OUT/webgpu-emp-ssl.log"; tail -3 "$OUT/webgpu-emp-ssl.log"

if [ -z "${SKIP_TORCH:-}" ]; then
  echo "== pytorch on the same GPU"
  python3 "$B/torch_cuda.py" "$B/torch_step.py" --mode backbone --crops "$CROPS" --steps "$((STEPS * 2))" > "$OUT/torch-resnet18.json" 2> "$OUT/torch.log"
  python3 "$B/torch_cuda.py" "$B/torch_step.py" --mode emp-ssl --images "$((EMP_CROPS / 20))" --patches 20 --steps "$((STEPS * 2))" > "$OUT/torch-emp-ssl.json" 2>> "$OUT/torch.log"
  tail -3 "$OUT/torch.log"
fi

# Ratios of crops/s, ours / PyTorch, from whatever above succeeded.
"$NODE" --input-type=module -e '
import fs from "node:fs";
const out = process.argv[1];
const last = (f) => { try { return JSON.parse(fs.readFileSync(`${out}/${f}`, "utf8").trim().split("\n").pop()); } catch { return null; } };
const rows = [["resnet18-cifar", "webgpu-resnet18.jsonl", "torch-resnet18.json"], ["emp-ssl", "webgpu-emp-ssl.jsonl", "torch-emp-ssl.json"]].map(([name, ours, torch]) => {
  const o = last(ours), t = last(torch);
  return { case: name, crops_per_step: o?.crops_per_step ?? null, webgpu_crops_per_second: o?.crops_per_second ?? null, webgpu_gflops_per_second: o?.gflops_per_second ?? null,
    pytorch: t?.engine ?? null, pytorch_crops_per_second: t?.crops_per_second ?? null, ratio: o && t ? o.crops_per_second / t.crops_per_second : null };
});
const summary = { gpu: fs.readFileSync(`${out}/nvidia-smi.txt`, "utf8").trim(), auto_backend: last("auto.jsonl")?.backend ?? null, webgpu_backend: last("webgpu-resnet18.jsonl")?.backend ?? null, rows };
fs.writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary, null, 2));
' "$OUT"
