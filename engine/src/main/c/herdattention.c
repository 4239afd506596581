/*
 * Attention over the paged KV cache for one row and one kv-head group, called from Java through the FFM API
 * (dev.herd.engine.runtime.PagedAttention): herd_attend_<isa>. It computes bit for bit what PagedAttention's
 * Java path computes, per query head:
 *
 *   score[p] = ((c0 + c1) + (c2 + c3)) * scale, chain ck = FMAs of q[d] * K[d][p] over d = k mod 4 in order
 *              (the dimensions past a multiple of four join c0);
 *   w[p]     = expf(score[p] - max) (VectorMath.expf), normalised by (float) (1 / the double sum in position order);
 *   out[j]   = FMAs of w[p] * V[p][j] over positions in order, from zero.
 *
 * Keys and values are f32, or f16 (the KV cache's F16 type): an f16 value is widened to f32 exactly as it is
 * loaded, so everything after the load is the same arithmetic.
 *
 * Every element keeps its own chain of operations, so tiling is free: the query heads of a group are done
 * together (each key and value vector loaded once for all of them), positions in vectors of a block's
 * transposed keys, value dimensions in register tiles. Compiled once per instruction set (build.sh).
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define EXPORT(name) __attribute__((visibility("default"))) int32_t CAT(name, HERD_ISA)
#define INLINE static inline __attribute__((always_inline))

/* Positions per KV block (KvCache.BLOCK). */
#define BLOCK 16
/* How far ahead the scores pass prefetches keys and values, in blocks. */
#define PREFETCH_BLOCKS 4

#if defined(__AVX512F__)
typedef __m512 vf;
typedef __m512i vi;
#define LANES 16
#define HEAD_TILE 4
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vfma _mm512_fmadd_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vmax _mm512_max_ps
#define vmin _mm512_min_ps
#define vi_xor _mm512_xor_si512
#define vcast_i _mm512_castps_si512
#define vcast_f _mm512_castsi512_ps
#define vi_set1 _mm512_set1_epi32
#define vi_add _mm512_add_epi32
#define vi_sub _mm512_sub_epi32
#define vi_sra _mm512_srai_epi32
#define vi_sll _mm512_slli_epi32
#define vload_f16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))
#else
typedef __m256 vf;
typedef __m256i vi;
#define LANES 8
#define HEAD_TILE 2
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vfma _mm256_fmadd_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vmax _mm256_max_ps
#define vmin _mm256_min_ps
#define vi_xor _mm256_xor_si256
#define vcast_i _mm256_castps_si256
#define vcast_f _mm256_castsi256_ps
#define vi_set1 _mm256_set1_epi32
#define vi_add _mm256_add_epi32
#define vi_sub _mm256_sub_epi32
#define vi_sra _mm256_srai_epi32
#define vi_sll _mm256_slli_epi32
#define vload_f16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p)))
#endif

/* LANES keys or values from element index i of a KV run: f32, or f16 widened to f32 (exact). */
INLINE vf kv_load(const char *run, int64_t i, int f16) {
    return f16 ? vload_f16((const uint16_t *) run + i) : vload((const float *) run + i);
}

INLINE float kv_scalar(const char *run, int64_t i, int f16) {
    return f16 ? _cvtsh_ss(((const uint16_t *) run)[i]) : ((const float *) run)[i];
}

/* Value dimensions per register tile: HEAD_TILE x VALUE_TILE accumulators. */
#define VALUE_TILE 4

/* VectorMath.expf, lane by lane: the same operations in the same order. */
INLINE vf expf_lanes(vf x) {
    /* max/min return their second operand when either is NaN: x second keeps NaN, as Java's max/min do */
    vf c = vmin(vset1(88.8f), vmax(vset1(-104.0f), x));
    vf t = vfma(c, vset1(1.44269504088896341f), vset1(12582912.0f));
    vf minus_k = vcast_f(vi_xor(vcast_i(vsub(t, vset1(12582912.0f))), vi_set1((int) 0x80000000u))); /* a sign flip, as Java's neg */
    vf r = vfma(minus_k, vset1(0.693359375f), c);
    r = vfma(minus_k, vset1(-2.12194440e-4f), r);
    vf p = vfma(vset1(1.9875691500e-4f), r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    vf y = vadd(vfma(p, vmul(r, r), r), vset1(1.0f));
    vi ki = vi_sub(vcast_i(t), vi_set1(0x4B400000));
    vi k1 = vi_sra(ki, 1), k2 = vi_sub(ki, k1);
    vf s1 = vcast_f(vi_sll(vi_add(k1, vi_set1(127)), 23)), s2 = vcast_f(vi_sll(vi_add(k2, vi_set1(127)), 23));
    return vmul(vmul(y, s1), s2);
}

/*
 * Scores of heads h0..h0+H-1 for the BLOCK positions of one block's transposed keys (dimension d at
 * keys + d * BLOCK), written to scores + h * stride.
 */
INLINE void block_scores(const float *q, int hd, int h0, int H, const char *keys, int f16, float scale, float *scores, int64_t stride) {
    int hd4 = hd & ~3;
    for (int p0 = 0; p0 < BLOCK; p0 += LANES) {
        vf acc[HEAD_TILE][4];
        for (int h = 0; h < H; h++)
            for (int c = 0; c < 4; c++) acc[h][c] = vzero();
        int d = 0;
        for (; d < hd4; d += 4)
            for (int c = 0; c < 4; c++) {
                vf k = kv_load(keys, (int64_t) (d + c) * BLOCK + p0, f16);
                for (int h = 0; h < H; h++) acc[h][c] = vfma(k, vset1(q[(int64_t) (h0 + h) * hd + d + c]), acc[h][c]);
            }
        for (; d < hd; d++) {
            vf k = kv_load(keys, (int64_t) d * BLOCK + p0, f16);
            for (int h = 0; h < H; h++) acc[h][0] = vfma(k, vset1(q[(int64_t) (h0 + h) * hd + d]), acc[h][0]);
        }
        for (int h = 0; h < H; h++)
            vstore(scores + (h0 + h) * stride + p0, vmul(vadd(vadd(acc[h][0], acc[h][1]), vadd(acc[h][2], acc[h][3])), vset1(scale)));
    }
}

/* In place: w = expf(s - max) / (the sum of them in double, position order), for count scores. */
INLINE void softmax(float *s, int count) {
    float max = -__builtin_inff();
    for (int i = 0; i < count; i++)
        if (s[i] > max) max = s[i];
    int i = 0;
    for (; i + LANES <= count; i += LANES) vstore(s + i, expf_lanes(vsub(vload(s + i), vset1(max))));
    if (i < count) {
        float tail[LANES];
        for (int j = 0; j < LANES; j++) tail[j] = i + j < count ? s[i + j] : 0.0f;
        vstore(tail, expf_lanes(vsub(vload(tail), vset1(max))));
        for (int j = 0; i + j < count; j++) s[i + j] = tail[j];
    }
    double sum = 0;
    for (int j = 0; j < count; j++) sum += s[j];
    float inv = (float) (1.0 / sum);
    for (int j = 0; j < count; j++) s[j] *= inv;
}

/*
 * out[h][j] for heads h0..h0+H-1 and dimensions j0..j0+V*LANES-1: weights w + h * stride (index i for position
 * first + i of the block list), values of position p at blocks[p / BLOCK] + values + (p % BLOCK) * hd.
 */
INLINE void weighted_values(const int64_t *blocks, int64_t values, int f16, int hd, int first, int count, const float *w, int64_t stride, int h0,
                            int H, int j0, int V, float *out) {
    vf acc[HEAD_TILE][VALUE_TILE];
    for (int h = 0; h < H; h++)
        for (int v = 0; v < V; v++) acc[h][v] = vzero();
    for (int i = 0; i < count; i++) {
        int p = first + i;
        const char *run = (const char *) (intptr_t) (blocks[p / BLOCK] + values);
        int64_t at = (int64_t) (p % BLOCK) * hd + j0;
        vf x[VALUE_TILE];
        for (int v = 0; v < V; v++) x[v] = kv_load(run, at + v * LANES, f16);
        for (int h = 0; h < H; h++) {
            vf wv = vset1(w[(h0 + h) * stride + i]);
            for (int v = 0; v < V; v++) acc[h][v] = vfma(wv, x[v], acc[h][v]);
        }
    }
    for (int h = 0; h < H; h++)
        for (int v = 0; v < V; v++) vstore(out + (int64_t) (h0 + h) * hd + j0 + v * LANES, acc[h][v]);
}

INLINE void attend_group(const float *q, int heads, int hd, const int64_t *blocks, int64_t keys, int64_t values, int f16, int first, int count,
                         float scale, float *scratch, float *out) {
    int64_t runBytes = (int64_t) hd * BLOCK * (f16 ? 2 : 4);
    int nblocks = (first + count + BLOCK - 1) / BLOCK;
    int64_t stride = (int64_t) nblocks * BLOCK;
    for (int h0 = 0; h0 < heads; h0 += HEAD_TILE) {
        int H = heads - h0 < HEAD_TILE ? heads - h0 : HEAD_TILE;
        for (int b = 0; b < nblocks; b++) {
            if (h0 == 0) {
                /* keys and values PREFETCH_BLOCKS blocks ahead into L2 (the first blocks' at once): KV blocks are
                   scattered in 8 KB runs that do not stay in cache between steps, so the hardware prefetcher alone
                   falls behind (harness, one decode row at 192 positions, cold cache: 113 -> 101 us per layer
                   with one block ahead into L1 before) */
                for (int a = b == 0 ? 0 : b + PREFETCH_BLOCKS; a <= b + PREFETCH_BLOCKS && a < nblocks; a++) {
                    const char *k = (const char *) (intptr_t) (blocks[a] + keys), *v = (const char *) (intptr_t) (blocks[a] + values);
                    for (int64_t o = 0; o < runBytes; o += 64) {
                        _mm_prefetch(k + o, _MM_HINT_T1);
                        _mm_prefetch(v + o, _MM_HINT_T1);
                    }
                }
            }
            block_scores(q, hd, h0, H, (const char *) (intptr_t) (blocks[b] + keys), f16, scale, scratch + (int64_t) b * BLOCK, stride);
        }
    }
    for (int h = 0; h < heads; h++) softmax(scratch + h * stride + first, count);
    int vecs = hd / LANES;
    for (int h0 = 0; h0 < heads; h0 += HEAD_TILE) {
        int H = heads - h0 < HEAD_TILE ? heads - h0 : HEAD_TILE;
        for (int v0 = 0; v0 < vecs; v0 += VALUE_TILE) {
            int V = vecs - v0 < VALUE_TILE ? vecs - v0 : VALUE_TILE;
            weighted_values(blocks, values, f16, hd, first, count, scratch + first, stride, h0, H, v0 * LANES, V, out);
        }
        /* dimensions past the last full vector: the same chain per element, one at a time */
        for (int h = h0; h < h0 + H; h++)
            for (int j = vecs * LANES; j < hd; j++) {
                float acc = 0.0f;
                for (int i = 0; i < count; i++) {
                    int p = first + i;
                    const char *run = (const char *) (intptr_t) (blocks[p / BLOCK] + values);
                    float x = kv_scalar(run, (int64_t) (p % BLOCK) * hd + j, f16);
                    acc = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(scratch[h * stride + first + i]), _mm_set_ss(x), _mm_set_ss(acc)));
                }
                out[(int64_t) h * hd + j] = acc;
            }
    }
}

/*
 * kv heads group0 .. group0 + groups - 1, each with headsPerGroup query heads (q: their heads x hd floats, in
 * order, from q + qOff), over positions first .. first + count - 1 of the block list (blocks[k]: address of the KV
 * block holding list positions k * BLOCK ..; keys / values: byte offsets of this layer's keys, [kv head][hd][BLOCK],
 * and values, [kv head][BLOCK][hd], in a block; f16: 0 for f32 elements, 1 for f16). scratch: headsPerGroup * (blocks
 * spanned * BLOCK) floats. Writes groups * headsPerGroup * hd floats to out + outOff. Returns 0.
 */
EXPORT(herd_attend)(const float *q, int32_t qOff, int32_t group0, int32_t groups, int32_t headsPerGroup, int32_t hd, const int64_t *blocks,
                    int64_t keys, int64_t values, int32_t f16, int32_t first, int32_t count, float scale, float *scratch, float *out,
                    int32_t outOff) {
    int64_t run = (int64_t) hd * BLOCK * (f16 ? 2 : 4); /* one kv head's keys (or values) in a block */
    for (int g = group0; g < group0 + groups; g++) {
        if (g + 1 < group0 + groups) {
            /* the next kv head's first block: each head's run starts cold */
            const char *k = (const char *) (intptr_t) (blocks[0] + keys + (g + 1) * run), *v = (const char *) (intptr_t) (blocks[0] + values + (g + 1) * run);
            for (int64_t o = 0; o < run; o += 64) {
                _mm_prefetch(k + o, _MM_HINT_T1);
                _mm_prefetch(v + o, _MM_HINT_T1);
            }
        }
        int64_t at = (int64_t) (g - group0) * headsPerGroup * hd;
        /* one specialised copy per element type: the flag is a constant inside each */
        if (f16) attend_group(q + qOff + at, headsPerGroup, hd, blocks, keys + g * run, values + g * run, 1, first, count, scale, scratch, out + outOff + at);
        else attend_group(q + qOff + at, headsPerGroup, hd, blocks, keys + g * run, values + g * run, 0, first, count, scale, scratch, out + outOff + at);
    }
    return 0;
}
