#!/bin/sh
# A/B the SIMD kernels in Chromium (relaxed build, as the browser runs them):
# tools/kernel-bench.c with the working copy's kernels first and a base
# revision's (a git revision, default HEAD) linked in as "alt"
# (tools/kernel-ab-alt.c), timed sample by sample in the same page.
# Arguments go to kernel-bench, e.g.
#   tools/kernel-ab.sh HEAD gemv Q4_0 Q6_K shape=110m
# The base side takes kernels_simd128.c (F32, F16, Q4_0, Q4_1, Q8_0, Q4_K,
# Q6_K, and Q5_0, IQ4_NL where the revision has them) and q5_K_simd128.c from
# the revision, with the revision's headers.
# KERNEL_FLAGS=-DGF_DOT16 compares the relaxed16 kernels instead (both sides);
# JS_FLAGS=--no-enable-avx-vnni runs them as on x86 without AVX-VNNI.
# AB_NODE=1 runs them in Node instead (--experimental-wasm-relaxed-simd
# --no-liftoff), where kernel-bench's "cpu" argument times by the process's
# CPU time: the fairer clock when other work oversubscribes the cores.
# AB_PLAIN=1 (with AB_NODE=1) compares the plain SIMD128 kernels instead, built
# as the plain wasm is (emcc's own clang, no -mrelaxed-simd): the build that
# Node 20's simd: 'auto' runs, and with it bench/run.mjs --env node.
# Needs ./build.sh to have run (build/llvm19) and playwright-core.
set -e
cd "$(dirname "$0")/.."
base=${1:-HEAD}; [ $# -gt 0 ] && shift
out=build/kernel-ab${AB_PLAIN:+-plain}; rm -rf $out/base; mkdir -p $out/base
export NODE_PATH=/usr/share/nodejs
git archive "$base" src | tar -x -C $out/base
if [ -n "${AB_PLAIN:-}" ]; then
  CF="-std=c11 -O3 -msimd128 ${KERNEL_FLAGS:-}"
else
  export EM_LLVM_ROOT=$PWD/build/llvm19
  CF="-std=c11 -O3 -msimd128 -mrelaxed-simd -ffp-contract=off ${KERNEL_FLAGS:-}"
fi
REN=""
for t in f32 f16 q4_0 q4_1 q8_0 q4_K q6_K q5_K q5_0 iq4_nl; do REN="$REN -Dgf_matmul_${t}_simd128=gf_alt_$t"; done
REN="$REN -Dgf_quantize_act_row_simd128=gf_alt_q -Dgf_dot_f32_simd128=gf_alt_dot -Dgf_axpy_f32_simd128=gf_alt_axpy"
REN="$REN -Dgf_scale_f32_simd128=gf_alt_scale -Dgf_swiglu_f32_simd128=gf_alt_swiglu"
objs=""
for f in kernels_simd128 q5_K_simd128; do # (Q5_K had its own file before it joined kernels_simd128.c)
  [ -f $out/base/src/kernels/$f.c ] || continue
  emcc $CF -I$out/base/src $REN -c $out/base/src/kernels/$f.c -o $out/alt_$f.o
  objs="$objs $out/alt_$f.o"
done
for f in tools/kernel-bench tools/kernel-ab-alt src/kernels/*_simd128.c src/kernels/kernels src/kernels/kernels_scalar \
  src/quant/quant src/quant/registry src/quant/quantize_k src/quant/quantize_search src/quant/q5_K src/quant/q5_1 \
  src/quant/q3_K src/quant/q2_K src/quant/iq4_xs src/quant/iq4_nl src/quant/q5_0 src/quant/bf16 src/base/error; do
  f=${f%.c}
  emcc $CF -Isrc -c $f.c -o $out/$(basename $f).o
  objs="$objs $out/$(basename $f).o"
done
if [ -n "${AB_NODE:-}" ]; then
  emcc -O1 -sWASM_BIGINT $objs -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sSINGLE_FILE=1 -sENVIRONMENT=node -o $out/kb-node.cjs
  node --experimental-wasm-relaxed-simd --no-liftoff $out/kb-node.cjs ab "$@"
else
  emcc -O1 -sWASM_BIGINT $objs -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sSINGLE_FILE=1 -sENVIRONMENT=web -o $out/kb.js
  node tools/kernel-ab-run.mjs $out/kb.js ab "$@"
fi
