#!/bin/sh
# A/B the SIMD kernels in Chromium (relaxed build, as the browser runs them):
# tools/kernel-bench.c with the working copy's src/kernels/kernels_simd128.c
# first and a base version (a git revision, default HEAD) linked in as "alt",
# timed sample by sample in the same page. Arguments go to kernel-bench, e.g.
#   tools/kernel-ab.sh HEAD gemv Q4_0 Q6_K shape=110m
# KERNEL_FLAGS=-DGF_DOT16 compares the relaxed16 kernels instead (both sides);
# JS_FLAGS=--no-enable-avx-vnni runs them as on x86 without AVX-VNNI.
# Needs ./build.sh to have run (build/llvm19) and playwright-core.
set -e
cd "$(dirname "$0")/.."
base=${1:-HEAD}; [ $# -gt 0 ] && shift
out=build/kernel-ab; mkdir -p $out
export NODE_PATH=/usr/share/nodejs EM_LLVM_ROOT=$PWD/build/llvm19
git show "$base:src/kernels/kernels_simd128.c" > $out/base_simd128.c
CF="-std=c11 -O3 -msimd128 -mrelaxed-simd -ffp-contract=off -Isrc -Isrc/kernels ${KERNEL_FLAGS:-}"
emcc $CF -Dgf_matmul_simd128=gf_matmul_alt -Dgf_quantize_act_row_simd128=gf_alt_q -Dgf_dot_f32_simd128=gf_alt_dot \
  -Dgf_axpy_f32_simd128=gf_alt_axpy -Dgf_scale_f32_simd128=gf_alt_scale \
  -Dgf_swiglu_f32_simd128=gf_alt_swiglu -c $out/base_simd128.c -o $out/alt.o
for f in tools/kernel-bench src/kernels/kernels_simd128 src/kernels/kernels src/kernels/kernels_scalar src/quant/quant src/quant/registry src/quant/quantize_k src/quant/quantize_search src/base/error; do
  emcc $CF -c $f.c -o $out/$(basename $f).o
done
emcc -O1 -sWASM_BIGINT $out/kernel-bench.o $out/kernels_simd128.o $out/kernels.o $out/kernels_scalar.o $out/quant.o \
  $out/registry.o $out/quantize_k.o $out/quantize_search.o $out/error.o $out/alt.o -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sSINGLE_FILE=1 -sENVIRONMENT=web -o $out/kb.js
node tools/kernel-ab-run.mjs $out/kb.js ab "$@"
