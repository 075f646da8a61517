#!/usr/bin/env bash
# Builds greenformer: the wasm modules (dist/: the runtime builds a page or
# Node loads to run models, and greenformer-tools, the plain build with the
# offline quantizer and pruner, which quantizeModel and pruneModel load; it is
# linked from the plain build's object files, so it costs one link, no
# compiles: Makefile TOOLS_SRC) and a native build of the same C sources for
# C tests and tools (build/native). Only stale parts are rebuilt.
# A missing toolchain is installed with apt-get only when asked to: in CI
# (CI=true) or with GF_INSTALL=1 (npm run setup); otherwise this prints the
# exact command and stops, so a developer's machine is never changed unasked.
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
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo "
  if [ "${CI:-}" != true ] && [ "${GF_INSTALL:-}" != 1 ]; then
    echo "build.sh: missing ${missing[*]}. Install with:" >&2
    echo "  ${sudo}apt-get update && ${sudo}apt-get install -y ${missing[*]}" >&2
    echo "or let this script do it: GF_INSTALL=1 npm run build (npm run setup installs Chromium and Firefox for the browser tests too)" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: missing ${missing[*]}, and there is no apt-get to install them with" >&2
    exit 1
  fi
  echo "build.sh: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  ${sudo}apt-get update -qq >&2
  ${sudo}apt-get install -y -qq "${missing[@]}" >&2
fi

# emcc 3.1.6's JS optimizer finds its node modules only through NODE_PATH.
if [ -d /usr/share/nodejs ]; then export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"; fi

make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" "$@"
# dist/worker.mjs: the self-contained page worker (assetBase); needs npm install's esbuild
node tools/build-worker.mjs
