#!/usr/bin/env bash
# Set up ssl-budget-bench: oneDNN on Debian/Ubuntu (when this user can install packages), then `npm ci`.
#
# oneDNN (Debian's libdnnl-dev) lets `npm ci` build the optional native kernels in native/: convolutions,
# matmuls and batch norm then run 3-5x faster on CPU. Without them every trial of a time budget gets about a
# third of the steps, and the default run's numbers differ from the README's table.
#
# Where apt-get is missing, or this user is not root and has no sudo, this step is skipped with a message and
# the pure-npm install follows (WebAssembly kernels only). Set SSL_BENCH_SKIP_APT=1 to skip it on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

FALLBACK="continuing with the pure-npm install (WebAssembly kernels only: a time budget fits about a third of the steps)"

say() { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: warning: %s\n' "$*" >&2; }

install_onednn() {
  if [ "${SSL_BENCH_SKIP_APT:-0}" = "1" ]; then
    say "SSL_BENCH_SKIP_APT=1: not installing oneDNN"
    return 0
  fi
  if dpkg-query -W -f='${Status}' libdnnl-dev 2>/dev/null | grep -q 'install ok installed'; then
    say "oneDNN (libdnnl-dev) is already installed"
    return 0
  fi
  if ! command -v apt-get > /dev/null 2>&1; then
    warn "no apt-get (not Debian/Ubuntu): install oneDNN 2.x and a C++ compiler yourself for the native kernels;"
    warn "$FALLBACK"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then
      sudo=(sudo)
    elif command -v sudo > /dev/null 2>&1 && [ -t 0 ]; then
      say "installing oneDNN needs root: sudo may ask for your password"
      sudo=(sudo)
    else
      warn "not root and no usable sudo: skipping 'apt-get install libdnnl-dev'"
      warn "$FALLBACK"
      return 0
    fi
  fi
  # npm ci builds native/ with node-gyp, which needs a C++ compiler, make and Python.
  local packages=(libdnnl-dev)
  command -v g++ > /dev/null 2>&1 || packages+=(g++)
  command -v make > /dev/null 2>&1 || packages+=(make)
  command -v python3 > /dev/null 2>&1 || packages+=(python3)
  say "installing ${packages[*]} with apt-get"
  if ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" > /dev/null; then
    say "installed ${packages[*]}"
  else
    warn "apt-get could not install ${packages[*]}"
    warn "$FALLBACK"
  fi
}

install_onednn

say "npm ci"
npm ci

if node -e "process.stdout.write(require('ssl-budget-bench-native').version())" > /dev/null 2>&1; then
  say "done: oneDNN kernels built (native/); 'npm run bench' will use them"
else
  warn "done, without the oneDNN kernels: 'npm run bench' runs on WebAssembly alone (each trial fits about a third"
  warn "of the steps, so its numbers will differ from the README's table); the engine prints why at startup"
fi
