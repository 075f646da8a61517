/* What the SIMD128 kernel files are compiled for, in one place: RELAXED in
 * the relaxed-SIMD builds (-mrelaxed-simd), DOT16 in the relaxed16 build
 * (-DGF_DOT16: x86 without AVX-VNNI, where the 16-bit form of the relaxed dot
 * product is one instruction; see kernels_simd128.c), and the helpers every
 * kernel file uses. */
#ifndef GF_SIMD128_BUILD_H
#define GF_SIMD128_BUILD_H

#if defined(__wasm_relaxed_simd__)
#define RELAXED 1
#else
#define RELAXED 0
#endif
#if RELAXED && defined(GF_DOT16)
#define DOT16 1
#else
#define DOT16 0
#endif

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("clang loop unroll(full)")

#endif
