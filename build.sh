#!/usr/bin/env bash
# Builds greenformer: the wasm module (dist/) and a native build of the same C
# sources for C tests and tools (build/native). Only stale parts are rebuilt.
# Installs its toolchain on Debian when run as root; otherwise prints the
# exact command to run.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v emcc >/dev/null 2>&1 || missing+=(emscripten)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
# the relaxed-SIMD builds compile with clang-19 through emcc (see Makefile)
command -v clang-19 >/dev/null 2>&1 || missing+=(clang-19)
command -v wasm-ld-19 >/dev/null 2>&1 || missing+=(lld-19)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: installing ${missing[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "build.sh: missing ${missing[*]}. Install with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# emcc 3.1.6's JS optimizer finds its node modules only through NODE_PATH.
if [ -d /usr/share/nodejs ]; then export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"; fi

exec make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" "$@"
