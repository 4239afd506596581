/*
 * Activation encoding for the integer kernels, called from Java through the FFM API
 * (dev.herd.engine.tensor.ActivationEncoders): herd_encode_q8_k_<isa> and herd_encode_q8_0_<isa> (which also
 * writes Q8_1's block sums). Each writes bit for bit what the Java encoder writes for one vector — the same
 * float operations in the same order (scale, clamp to +-128, round half to even, clamp to +-127; half-precision
 * scales rounded to nearest even) — so either may encode any vector. Vectors holding a NaN or an infinity stay
 * the Java encoder's job: these functions return 1 for them (having written part of the vector, which the Java
 * encoder then overwrites).
 *
 * A one-sequence decode step encodes ~45 vectors, one at a time between parallel loops, while the other
 * threads wait: in Java that was ~6 us per 2048 values, here it is a fraction of a microsecond.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define EXPORT(name) __attribute__((visibility("default"))) int32_t CAT(name, HERD_ISA)
#define INLINE static inline __attribute__((always_inline))

/* The largest |x| of n values (n a multiple of 8): infinite when one is infinite or NaN. */
INLINE float max_abs(const float *x, int n) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        m = _mm256_max_ps(m, _mm256_and_ps(v, abs_mask));
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm256_movemask_ps(nan) != 0 ? INFINITY : _mm_cvtss_f32(h);
}

/* The first of 256 values whose magnitude is m (one of them has it). */
INLINE float first_of_magnitude(const float *x, float m) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 target = _mm256_set1_ps(m);
    for (int i = 0; i < 256; i += 8) {
        int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), target, _CMP_EQ_OQ));
        if (hits != 0) return x[i + __builtin_ctz(hits)];
    }
    return 0.0f;
}

/*
 * rint(clamp(x * scale, +-128)) clamped to +-127, NaN (0 * inf when a block's scale overflowed) as 0, for 8
 * values, as 32-bit integers: ActivationEncoders.roundClamp127. cvtps rounds half to even (the default MXCSR).
 */
INLINE __m256i round_clamp127(__m256 x, __m256 scale) {
    __m256 p = _mm256_mul_ps(x, scale);
    __m256 nan = _mm256_cmp_ps(p, p, _CMP_UNORD_Q);
    __m256 c = _mm256_min_ps(_mm256_max_ps(p, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(128.0f));
    __m256i q = _mm256_cvtps_epi32(c);
    q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(-127)), _mm256_set1_epi32(127));
    return _mm256_andnot_si256(_mm256_castps_si256(nan), q);
}

/* Eight int32 lanes (|v| <= 127) stored as int16. */
INLINE void store8_i16(int16_t *dst, __m256i q) {
    __m128i packed = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storeu_si128((__m128i *) dst, packed);
}

INLINE int32_t sum8_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

INLINE float round_to_half(float f) { return _cvtsh_ss(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }

/*
 * Q8_K, llama.cpp's quantize_row_q8_K_ref: per 256 values, iscale = -127 / (the first value of largest
 * magnitude), quants rint(iscale * x), scale 1 / iscale; also the quants as int8 and each 16 quants' sum.
 * Vector t goes to q16[t*n ..), q8[t*n ..), scales[t*n/256 ..), sums[t*n/16 ..) (EncodedActivations' layout).
 * Returns 0, or 1 (nothing decided) when a value is not finite.
 */
EXPORT(herd_encode_q8_k)(const float *src, int32_t srcOffset, int32_t n, int32_t t, int16_t *q16, int8_t *q8, float *scales, int16_t *sums) {
    const float *x = src + srcOffset;
    q16 += (int64_t) t * n;
    q8 += (int64_t) t * n;
    scales += (int64_t) t * (n / 256);
    sums += (int64_t) t * (n / 16);
    for (int b = 0; b < n / 256; b++) {
        const float *xb = x + b * 256;
        float amax = max_abs(xb, 256);
        if (amax == INFINITY) return 1;
        float max = first_of_magnitude(xb, amax);
        float d = 0.0f;
        __m256 scale = _mm256_setzero_ps();
        if (amax != 0.0f) {
            float iscale = -127.0f / max;
            scale = _mm256_set1_ps(iscale);
            d = 1.0f / iscale;
        }
        scales[b] = d;
        for (int g = 0; g < 16; g++) {
            int off = b * 256 + g * 16;
            __m256i lo = round_clamp127(_mm256_loadu_ps(x + off), scale);
            __m256i hi = round_clamp127(_mm256_loadu_ps(x + off + 8), scale);
            store8_i16(q16 + off, lo);
            store8_i16(q16 + off + 8, hi);
            __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
            __m128i w2 = _mm_packs_epi32(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
            _mm_storeu_si128((__m128i *) (q8 + off), _mm_packs_epi16(w, w2));
            sums[off / 16] = (int16_t) sum8_i32(_mm256_add_epi32(lo, hi));
        }
    }
    return 0;
}

/*
 * Q8_0 (and Q8_1 when sums is not NULL), llama.cpp's x86 quantize_row_q8_0/q8_1: per 32 values d = amax / 127
 * stored half-rounded, quants rint(x * (127 / amax)); Q8_1's sum half(d * sum(q)) with the unrounded d. Vector
 * t goes to q16[t*n ..), scales[t*n/32 ..) and sums[t*n/32 ..). Returns 0, or 1 when a value is not finite.
 */
EXPORT(herd_encode_q8_0)(const float *src, int32_t srcOffset, int32_t n, int32_t t, int16_t *q16, float *scales, float *sums) {
    const float *x = src + srcOffset;
    q16 += (int64_t) t * n;
    scales += (int64_t) t * (n / 32);
    if (sums != 0) sums += (int64_t) t * (n / 32);
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        float amax = max_abs(xb, 32);
        if (amax == INFINITY) return 1;
        float d = amax / 127.0f;
        __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m256i total = _mm256_setzero_si256();
        for (int i = 0; i < 32; i += 8) {
            __m256i q = round_clamp127(_mm256_loadu_ps(xb + i), id);
            store8_i16(q16 + b * 32 + i, q);
            total = _mm256_add_epi32(total, q);
        }
        scales[b] = round_to_half(d);
        if (sums != 0) sums[b] = round_to_half(d * (float) sum8_i32(total));
    }
    return 0;
}
