/* ======================================================================== */
/*                              IMPLEMENTATION                              */
/* ======================================================================== */
#if defined(KWBIN_NN_IMPLEMENTATION) && !defined(KWBIN_NN_IMPLEMENTATION_DONE)
#define KWBIN_NN_IMPLEMENTATION_DONE

#include <float.h>
#include <math.h>
#include <string.h>

/* SIMD kernels where the compiler targets them (-mavx2 -mfma, -march=native,
   AArch64); KWNN_NO_SIMD forces the portable C path (13_gemm.h). */
#if !defined(KWNN_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KWNN__AVX2 1
#define KWNN__SIMD_FMA 1
#elif !defined(KWNN_NO_SIMD) && defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define KWNN__NEON 1
#define KWNN__SIMD_FMA 1
#endif

#if !defined(KWNN_MALLOC) || !defined(KWNN_FREE)
#include <stdlib.h>
#undef KWNN_MALLOC
#undef KWNN_FREE
#define KWNN_MALLOC(size) malloc(size)
#define KWNN_FREE(ptr) free(ptr)
#endif

#ifdef __cplusplus
#define KWNN__RESTRICT __restrict
extern "C" {
#else
#define KWNN__RESTRICT restrict
#endif

#define KWNN__SIZE_MAX ((size_t)-1)

/* Small functions that must be inlined into their loops for those to vectorize (14_fastmath.h). */
#if defined(__GNUC__) || defined(__clang__)
#define KWNN__INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define KWNN__INLINE static __forceinline
#else
#define KWNN__INLINE static
#endif

/* Test hook: the tests define KWNN_PROBE(counter, n) to count the steps of
   kwnn_load's table walks and of the window loops (work, not time). */
#ifndef KWNN_PROBE
#define KWNN_PROBE(counter, n) ((void)0)
#endif
#define KWNN__DIM_LIMIT ((size_t)1 << 30) /* spatial sizes, windows, strides */
#define KWNN__NOMINAL 32 /* the length kwnn_load gives a None axis of an input (run: the input's) */
/* ... doubled up to this while a layer refuses the nominal length (a long window, strided layers) */
#define KWNN__NOMINAL_MAX 4096

