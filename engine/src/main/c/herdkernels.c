/*
 * herd's native weight kernels, called from Java through the FFM API (dev.herd.engine.tensor.types.NativeKernel),
 * one exported function per weight type: herd_<type>_<isa>. Compiled once per instruction set (build.sh:
 * HERD_ISA = avx2, or avx512, which uses VNNI's vpdpwssd and vpdpbusd, more registers for larger tiles, and
 * for batches of Q8_0 and the K-quants operands transposed so one int lane holds a whole block's dot).
 *
 * Each computes out[t * outStride + r] = dot(row r, vector t) for rows [rowStart, rowEnd) and vectors
 * [0, count), and returns 0 (or 1 when it could not allocate its scratch rows). The float operations are
 * exactly the Java kernels', in the same order (see docs/kernels.md): integer block sums are exact, so any
 * grouping gives the same integers; what must match is the float work after them. Activations are
 * EncodedActivations' buffers: int16 quants, float block scales, Q8_1 block sums or Q8_K int16 16-value
 * sums, or floats.
 *
 * Batches are tiled (TILE_ROWS rows x TILE_VECS vectors per step), each weight block loaded and decoded
 * once per tile; every output element still has its own accumulator and the single-vector sequence of
 * operations.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define EXPORT(name) __attribute__((visibility("default"))) int32_t CAT(name, HERD_ISA)
#define INLINE static inline __attribute__((always_inline))

#if defined(__AVX512VNNI__)
#define TILE_ROWS 4
#define TILE_VECS 4
INLINE __m256i dot_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
#else
#define TILE_ROWS 2
#define TILE_VECS 2
INLINE __m256i dot_acc(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
#endif

/* Rows decoded (or read) together while a batch's activations stream past them: 16 rows stay in L2. */
#define ROW_BLOCK 16

INLINE float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

INLINE __m256i load16(const int16_t *p) { return _mm256_loadu_si256((const __m256i *) p); }

/* Java's Simd256.sum: lanes i and i+4 added, then (s0 + s2) + (s1 + s3). */
INLINE float sum_lanes(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

/* ------------------------------------------------------------- scratch ------------------------------------------------------------- */

/*
 * Each thread's working buffers (decoded rows, repacked activations), one per slot: grown on demand,
 * 64-byte aligned, freed when the thread ends.
 */
enum { SLOT_ROWS, SLOT_BLOCKS, SLOT_X8, SLOT_XFIX, SLOT_XSCALES, SLOT_WSCALES, SLOT_KSCALES, SLOT_KMINS, SLOTS };

typedef struct {
    void *buf[SLOTS];
    size_t capacity[SLOTS];
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void free_scratch(void *p) {
    scratch *s = p;
    for (int i = 0; i < SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void make_scratch_key(void) { pthread_key_create(&scratch_key, free_scratch); }

/* This thread's buffer in slot, at least bytes long; NULL if out of memory. */
static void *scratch_buffer(int slot, size_t bytes) {
    pthread_once(&scratch_once, make_scratch_key);
    scratch *s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (bytes > s->capacity[slot]) {
        free(s->buf[slot]);
        size_t rounded = (bytes + 63) / 64 * 64;
        s->buf[slot] = aligned_alloc(64, rounded);
        s->capacity[slot] = s->buf[slot] != NULL ? rounded : 0;
    }
    return s->buf[slot];
}

/* ------------------------------------------------------- 32-value blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) ------------------------------------------------------- */

/*
 * Q4_0, Q4_1, Q5_0, Q5_1: int lane i of a block holds the products of values 2i, 2i+1, 16+2i, 17+2i (Java's
 * pair sums of the two 16-value halves); then acc = fma(float(lanes), d_w * d_x, acc); the types with a minimum
 * add m_w * s_x per block into a separate float sum (not fused, as the Java kernels), added at the end. Q8_0
 * shares the block decoding but sums each block exactly (q8_tile, below).
 */
enum { B_Q8_0, B_Q4_0, B_Q4_1, B_Q5_0, B_Q5_1 };

/* Lane j: 16 where bit j of bits is set (the fifth bit of value j). */
INLINE __m256i fifth_bits(uint32_t bits) {
    const __m256i lane_bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, (short) 32768);
    __m256i set = _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16((short) bits), lane_bit), lane_bit);
    return _mm256_and_si256(set, _mm256_set1_epi16(16));
}

/* Block b of a row as int16 values 0-15 (lo) and 16-31 (hi), its scale and minimum. */
INLINE void block32(int kind, const uint8_t *row, int b, __m256i *lo, __m256i *hi, float *d, float *m) {
    const __m256i low4 = _mm256_set1_epi16(0x0F);
    if (kind == B_Q8_0) {
        const uint8_t *blk = row + 34 * (int64_t) b;
        *lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (blk + 2)));
        *hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (blk + 18)));
        *d = f16(blk);
        *m = 0.0f;
    } else if (kind == B_Q4_0 || kind == B_Q4_1) {
        const uint8_t *blk = row + (kind == B_Q4_0 ? 18 : 20) * (int64_t) b;
        __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + (kind == B_Q4_0 ? 2 : 4))));
        *lo = _mm256_and_si256(v, low4);
        *hi = _mm256_srli_epi16(v, 4);
        if (kind == B_Q4_0) {
            *lo = _mm256_sub_epi16(*lo, _mm256_set1_epi16(8));
            *hi = _mm256_sub_epi16(*hi, _mm256_set1_epi16(8));
        }
        *d = f16(blk);
        *m = kind == B_Q4_1 ? f16(blk + 2) : 0.0f;
    } else {
        const uint8_t *blk = row + (kind == B_Q5_0 ? 22 : 24) * (int64_t) b;
        int off = kind == B_Q5_0 ? 2 : 4;
        uint32_t qh;
        memcpy(&qh, blk + off, 4);
        __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + off + 4)));
        *lo = _mm256_or_si256(_mm256_and_si256(v, low4), fifth_bits(qh & 0xFFFF));
        *hi = _mm256_or_si256(_mm256_srli_epi16(v, 4), fifth_bits(qh >> 16));
        if (kind == B_Q5_0) {
            *lo = _mm256_sub_epi16(*lo, _mm256_set1_epi16(16));
            *hi = _mm256_sub_epi16(*hi, _mm256_set1_epi16(16));
        }
        *d = f16(blk);
        *m = kind == B_Q5_1 ? f16(blk + 2) : 0.0f;
    }
}

INLINE void block_tile(int kind, const uint8_t *w, int64_t rowBytes, int r0, int R, const int16_t *xq, const float *xd, const float *xs,
                       int n, int t0, int V, float *out, int outStride) {
    int nb = n / 32, hasMins = kind == B_Q4_1 || kind == B_Q5_1;
    __m256 acc[TILE_ROWS][TILE_VECS];
    float minSum[TILE_ROWS][TILE_VECS];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) {
            acc[i][j] = _mm256_setzero_ps();
            minSum[i][j] = 0.0f;
        }
    for (int b = 0; b < nb; b++) {
        __m256i lo[TILE_ROWS], hi[TILE_ROWS];
        float dw[TILE_ROWS], mw[TILE_ROWS];
        for (int i = 0; i < R; i++) block32(kind, w + (int64_t) (r0 + i) * rowBytes, b, &lo[i], &hi[i], &dw[i], &mw[i]);
        for (int j = 0; j < V; j++) {
            const int16_t *x = xq + (int64_t) (t0 + j) * n + 32 * b;
            __m256i x0 = load16(x), x1 = load16(x + 16);
            float dx = xd[(int64_t) (t0 + j) * nb + b];
            for (int i = 0; i < R; i++) {
                __m256i p = dot_acc(_mm256_madd_epi16(lo[i], x0), hi[i], x1);
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[i] * dx), acc[i][j]);
                if (hasMins) minSum[i][j] += mw[i] * xs[(int64_t) (t0 + j) * nb + b];
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) {
            float sum = sum_lanes(acc[i][j]);
            out[(int64_t) (t0 + j) * outStride + r0 + i] = hasMins ? sum + minSum[i][j] : sum;
        }
}

/*
 * Q8_0 (Q8_0.java): per block the exact integer dot of its 32 quant pairs, converted once; lane k of the float
 * accumulator takes blocks k mod 8 with fma(dot, d_w * d_x, acc), the blocks padded to a multiple of eight
 * with fma(0, 0, acc); then sum_lanes. Eight blocks' dots arrive as one vector of ints, so eight blocks cost
 * one conversion and one FMA per row and vector.
 */

/* Lane k: the sum of p[k]'s eight lanes (exact). */
INLINE __m256i sum_each(const __m256i p[8]) {
    __m256i t0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    __m256i t1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* Rows r0..r0+R-1 times vectors t0..t0+V-1 with int16 products (any instruction set; single vectors). */
INLINE void q8_tile(const uint8_t *w, int64_t rowBytes, int r0, int R, const int16_t *xq, const float *xd, int n, int t0, int V,
                    float *out, int outStride) {
    int nb = n / 32;
    __m256 acc[TILE_ROWS][TILE_VECS];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) acc[i][j] = _mm256_setzero_ps();
    for (int g = 0; g < nb; g += 8) {
        int m = nb - g < 8 ? nb - g : 8;
        /* the group's activation scales, zero past the last block */
        __m256 dx[TILE_VECS];
        for (int j = 0; j < V; j++) {
            const float *s = xd + (int64_t) (t0 + j) * nb + g;
            if (m == 8) {
                dx[j] = _mm256_loadu_ps(s);
            } else {
                float part[8] = {0};
                for (int k = 0; k < m; k++) part[k] = s[k];
                dx[j] = _mm256_loadu_ps(part);
            }
        }
        for (int i = 0; i < R; i++) {
            const uint8_t *row = w + (int64_t) (r0 + i) * rowBytes;
            /* the eight half scales, zero (0.0) past the last block */
            __m128i halves = _mm_setzero_si128();
            for (int k = 0; k < m; k++) {
                uint16_t h;
                memcpy(&h, row + 34 * (int64_t) (g + k), 2);
                halves = _mm_insert_epi16(halves, h, k);
            }
            __m256 dw = _mm256_cvtph_ps(halves);
            for (int j = 0; j < V; j++) {
                __m256i p[8];
                for (int k = 0; k < 8; k++) {
                    int b = g + k;
                    if (k < m) {
                        __m256i lo, hi;
                        float d, mn;
                        block32(B_Q8_0, row, b, &lo, &hi, &d, &mn);
                        const int16_t *x = xq + (int64_t) (t0 + j) * n + 32 * b;
                        p[k] = dot_acc(_mm256_madd_epi16(lo, load16(x)), hi, load16(x + 16));
                    } else {
                        p[k] = _mm256_setzero_si256();
                    }
                }
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_each(p)), _mm256_mul_ps(dw, dx[j]), acc[i][j]);
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) out[(int64_t) (t0 + j) * outStride + r0 + i] = sum_lanes(acc[i][j]);
}

/* Q8_0 sums each block exactly (q8_tile); the other types keep int lanes per block (block_tile). */
INLINE void tile32(int kind, const uint8_t *w, int64_t rowBytes, int r0, int R, const int16_t *xq, const float *xd, const float *xs, int n,
                   int t0, int V, float *out, int outStride) {
    if (kind == B_Q8_0) q8_tile(w, rowBytes, r0, R, xq, xd, n, t0, V, out, outStride);
    else block_tile(kind, w, rowBytes, r0, R, xq, xd, xs, n, t0, V, out, outStride);
}

INLINE void block_matmul(int kind, const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const int16_t *xq, const float *xd,
                         const float *xs, int n, int count, float *out, int outStride) {
    for (int rb = rowStart; rb < rowEnd; rb += ROW_BLOCK) {
        int re = rb + ROW_BLOCK < rowEnd ? rb + ROW_BLOCK : rowEnd;
        int t = 0;
        for (; t + TILE_VECS <= count; t += TILE_VECS) {
            int r = rb;
            for (; r + TILE_ROWS <= re; r += TILE_ROWS) tile32(kind, w, rowBytes, r, TILE_ROWS, xq, xd, xs, n, t, TILE_VECS, out, outStride);
            for (; r < re; r++) tile32(kind, w, rowBytes, r, 1, xq, xd, xs, n, t, TILE_VECS, out, outStride);
        }
        /* single vectors one row at a time: interleaved row streams halve the bandwidth */
        for (; t < count; t++)
            for (int r = rb; r < re; r++) tile32(kind, w, rowBytes, r, 1, xq, xd, xs, n, t, 1, out, outStride);
    }
}

/*
 * Prefetching the next row block while this one's tiles compute: without it a batch alternates between waiting
 * for a row block's bytes and computing on them (Q8_0, 16 vectors: 263 GFLOP/s on an L3-resident matrix, 130
 * from DRAM). A cursor over the bytes to fetch, advanced a slice per tile.
 */
typedef struct {
    const char *next, *end;
    int64_t step;
} prefetcher;

/* The rows [r0, r1) in `tiles` slices (the whole range now when tiles is 0). */
INLINE prefetcher prefetch_rows(const uint8_t *w, int64_t rowBytes, int r0, int r1, int tiles) {
    prefetcher p = {(const char *) (w + (int64_t) r0 * rowBytes), (const char *) (w + (int64_t) (r1 > r0 ? r1 : r0) * rowBytes), 0};
    int64_t bytes = p.end - p.next;
    p.step = tiles > 0 ? ((bytes + tiles - 1) / tiles + 63) & ~(int64_t) 63 : bytes;
    return p;
}

INLINE void prefetch_step(prefetcher *p) {
    const char *stop = p->next + p->step < p->end ? p->next + p->step : p->end;
    for (; p->next < stop; p->next += 64) _mm_prefetch(p->next, _MM_HINT_T1);
}

/* Lane k of out[s]: the four bytes 4s..4s+3 of in[k] (an 8 x 8 transpose of 32-bit lanes). */
INLINE void transpose8(const __m256i in[8], __m256i out[8]) {
    __m256i t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_epi32(in[k], in[k + 1]);
        t[k + 1] = _mm256_unpackhi_epi32(in[k], in[k + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        u[h] = _mm256_unpacklo_epi64(t[h], t[h + 2]);
        u[h + 1] = _mm256_unpackhi_epi64(t[h], t[h + 2]);
        u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
        u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    for (int s = 0; s < 4; s++) {
        out[s] = _mm256_permute2x128_si256(u[s], u[s + 4], 0x20);
        out[s + 4] = _mm256_permute2x128_si256(u[s], u[s + 4], 0x31);
    }
}

#if defined(__AVX512VNNI__)
/*
 * Batches with VNNI's vpdpbusd, on operands transposed per group of eight blocks: slice s of a group holds, in
 * int lane k, bytes 4s..4s+3 of block k, so eight vpdpbusd leave block k's whole dot in lane k. vpdpbusd
 * multiplies unsigned by signed bytes: the weights are stored as w + 128 and each lane starts from
 * -128 * (its block's sum of activation quants). Padding blocks are zero activations with zero scales.
 */
#define Q8_ROWS 3
#define Q8_VECS 4
/* rows transposed at a time: a multiple of Q8_ROWS, 24 rows of 4096 values stay in L2 */
#define Q8_ROW_BLOCK 24

INLINE void q8_vnni_tile(const uint8_t *wT, const float *wd, int R, const uint8_t *xT, const __m256i *xfix, const float *xd, int groups,
                         int t0, int V, float *out, int outStride, int r0) {
    int64_t sliceBytes = (int64_t) groups * 256;
    __m256 acc[Q8_ROWS][Q8_VECS];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) acc[i][j] = _mm256_setzero_ps();
    for (int g = 0; g < groups; g++) {
        __m256i dot[Q8_ROWS][Q8_VECS];
        for (int j = 0; j < V; j++) {
            __m256i start = _mm256_load_si256(xfix + (int64_t) (t0 + j) * groups + g);
            for (int i = 0; i < R; i++) dot[i][j] = start;
        }
        for (int s = 0; s < 8; s++) {
            __m256i x[Q8_VECS];
            for (int j = 0; j < V; j++) x[j] = _mm256_load_si256((const __m256i *) (xT + (t0 + j) * sliceBytes + 256 * g + 32 * s));
            for (int i = 0; i < R; i++) {
                __m256i wv = _mm256_load_si256((const __m256i *) (wT + i * sliceBytes + 256 * g + 32 * s));
                for (int j = 0; j < V; j++) dot[i][j] = _mm256_dpbusd_epi32(dot[i][j], wv, x[j]);
            }
        }
        for (int i = 0; i < R; i++) {
            __m256 dw = _mm256_load_ps(wd + (int64_t) i * groups * 8 + 8 * g);
            for (int j = 0; j < V; j++) {
                __m256 prods = _mm256_mul_ps(dw, _mm256_load_ps(xd + (int64_t) (t0 + j) * groups * 8 + 8 * g));
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i][j]), prods, acc[i][j]);
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) out[(int64_t) (t0 + j) * outStride + r0 + i] = sum_lanes(acc[i][j]);
}

/* Batches of two or more vectors (tiles of Q8_VECS, the rest one at a time); 1 when out of memory. */
static int32_t q8_vnni_matmul(const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const int16_t *xq, const float *xd, int n, int count,
                              float *out, int outStride) {
    int nb = n / 32, groups = (nb + 7) / 8;
    int64_t sliceBytes = (int64_t) groups * 256;
    uint8_t *xT = scratch_buffer(SLOT_X8, (size_t) count * sliceBytes);
    __m256i *xfix = scratch_buffer(SLOT_XFIX, (size_t) count * groups * sizeof(__m256i));
    float *xdp = scratch_buffer(SLOT_XSCALES, (size_t) count * groups * 8 * sizeof(float));
    uint8_t *wT = scratch_buffer(SLOT_ROWS, (size_t) Q8_ROW_BLOCK * sliceBytes);
    float *wd = scratch_buffer(SLOT_WSCALES, (size_t) Q8_ROW_BLOCK * groups * 8 * sizeof(float));
    if (xT == NULL || xfix == NULL || xdp == NULL || wT == NULL || wd == NULL) return 1;
    /* the first row block, fetched while the activations are laid out */
    prefetcher first = prefetch_rows(w, rowBytes, rowStart, rowStart + Q8_ROW_BLOCK < rowEnd ? rowStart + Q8_ROW_BLOCK : rowEnd, 0);
    prefetch_step(&first);
    const __m256i bias = _mm256_set1_epi8((char) 0x80);
    for (int t = 0; t < count; t++)
        for (int g = 0; g < groups; g++) {
            __m256i blocks[8], slices[8];
            for (int k = 0; k < 8; k++) {
                int b = 8 * g + k;
                if (b < nb) {
                    const int16_t *x = xq + (int64_t) t * n + 32 * b;
                    blocks[k] = _mm256_permute4x64_epi64(_mm256_packs_epi16(load16(x), load16(x + 16)), 0xD8);
                } else {
                    blocks[k] = _mm256_setzero_si256();
                }
                xdp[((int64_t) t * groups + g) * 8 + k] = b < nb ? xd[(int64_t) t * nb + b] : 0.0f;
            }
            transpose8(blocks, slices);
            __m256i sum = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                _mm256_store_si256((__m256i *) (xT + t * sliceBytes + 256 * g + 32 * k), slices[k]);
                sum = _mm256_dpbusd_epi32(sum, bias, slices[k]);
            }
            xfix[(int64_t) t * groups + g] = _mm256_sub_epi32(_mm256_setzero_si256(), sum);
        }
    int vecs = count - count % Q8_VECS;
    for (int rb = rowStart; rb < rowEnd; rb += Q8_ROW_BLOCK) {
        int re = rb + Q8_ROW_BLOCK < rowEnd ? rb + Q8_ROW_BLOCK : rowEnd;
        for (int r = rb; r < re; r++) {
            const uint8_t *row = w + (int64_t) r * rowBytes;
            for (int g = 0; g < groups; g++) {
                __m256i blocks[8], slices[8];
                for (int k = 0; k < 8; k++) {
                    int b = 8 * g + k;
                    blocks[k] = b < nb ? _mm256_loadu_si256((const __m256i *) (row + 34 * (int64_t) b + 2)) : _mm256_setzero_si256();
                    wd[((int64_t) (r - rb) * groups + g) * 8 + k] = b < nb ? f16(row + 34 * (int64_t) b) : 0.0f;
                }
                transpose8(blocks, slices);
                for (int k = 0; k < 8; k++)
                    _mm256_store_si256((__m256i *) (wT + (r - rb) * sliceBytes + 256 * g + 32 * k), _mm256_xor_si256(slices[k], bias));
            }
        }
        int nextEnd = re + Q8_ROW_BLOCK < rowEnd ? re + Q8_ROW_BLOCK : rowEnd;
        prefetcher pf = prefetch_rows(w, rowBytes, re, nextEnd, (vecs / Q8_VECS) * ((re - rb) / Q8_ROWS));
        for (int t = 0; t < vecs; t += Q8_VECS) {
            int r = rb;
            for (; r + Q8_ROWS <= re; r += Q8_ROWS) {
                prefetch_step(&pf);
                q8_vnni_tile(wT + (r - rb) * sliceBytes, wd + (int64_t) (r - rb) * groups * 8, Q8_ROWS, xT, xfix, xdp, groups, t, Q8_VECS, out,
                             outStride, r);
            }
            if (r + 2 <= re) {
                q8_vnni_tile(wT + (r - rb) * sliceBytes, wd + (int64_t) (r - rb) * groups * 8, 2, xT, xfix, xdp, groups, t, Q8_VECS, out, outStride, r);
                r += 2;
            }
            for (; r < re; r++)
                q8_vnni_tile(wT + (r - rb) * sliceBytes, wd + (int64_t) (r - rb) * groups * 8, 1, xT, xfix, xdp, groups, t, Q8_VECS, out, outStride, r);
        }
        for (int t = vecs; t < count; t++)
            for (int r = rb; r < re; r++)
                q8_vnni_tile(wT + (r - rb) * sliceBytes, wd + (int64_t) (r - rb) * groups * 8, 1, xT, xfix, xdp, groups, t, 1, out, outStride, r);
        pf.step = pf.end - pf.next;
        prefetch_step(&pf);
    }
    return 0;
}
#endif

#define BLOCK_EXPORT(name, kind)                                                                                                   \
    EXPORT(name)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,         \
                 const float *xs, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {                     \
        (void) x8;                                                                                                                 \
        block_matmul(kind, w, rowBytes, rowStart, rowEnd, xq, xd, xs, n, count, out, outStride);                                 \
        return 0;                                                                                                                  \
    }

EXPORT(herd_q8_0)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd, const float *xs,
                  int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    (void) x8;
#if defined(__AVX512VNNI__)
    if (count >= 2) return q8_vnni_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, n, count, out, outStride);
#endif
    block_matmul(B_Q8_0, w, rowBytes, rowStart, rowEnd, xq, xd, xs, n, count, out, outStride);
    return 0;
}
BLOCK_EXPORT(herd_q4_0, B_Q4_0)
BLOCK_EXPORT(herd_q4_1, B_Q4_1)
BLOCK_EXPORT(herd_q5_0, B_Q5_0)
BLOCK_EXPORT(herd_q5_1, B_Q5_1)

/* ------------------------------------------------------------- K-quants ------------------------------------------------------------- */

/*
 * A K-quant super-block (256 values) is first decoded to int16 quant * sub-block scale (|value| <= 4096, so
 * the products with activation quants fit vpmaddwd exactly), plus d, dmin and the eight 6-bit minimums;
 * the dot is then Σ (quant * scale) * x, exact, and
 * sum = fma(d_x * d, dot, sum), minSum = fma(d_x * dmin, Σ min * bsum, minSum), result sum - minSum.
 */
typedef struct {
    float d, dmin;
    /* MINS_PER_32: eight 6-bit minimums; MINS_PER_16: sixteen 4-bit ones */
    uint8_t mins[16];
} kblock;

enum { MINS_NONE, MINS_PER_32, MINS_PER_16 };

/* Q4_K's (and Q5_K's) eight 6-bit sub-block scales and eight minimums, one byte each. */
INLINE void q4_k_scales64(const uint8_t *blk, uint64_t *scales, uint64_t *mins) {
    uint64_t lo;
    uint32_t hi;
    memcpy(&lo, blk + 4, 8);
    memcpy(&hi, blk + 12, 4);
    uint32_t first = (uint32_t) lo, second = (uint32_t) (lo >> 32);
    *scales = (uint64_t) (first & 0x3F3F3F3Fu) | ((uint64_t) ((hi & 0x0F0F0F0Fu) | (((first >> 6) & 0x03030303u) << 4)) << 32);
    *mins = (uint64_t) (second & 0x3F3F3F3Fu) | ((uint64_t) (((hi >> 4) & 0x0F0F0F0Fu) | (((second >> 6) & 0x03030303u) << 4)) << 32);
}

INLINE void q4_k_scales(const uint8_t *blk, uint8_t *sc, uint8_t *mn) {
    uint64_t scales, mins;
    q4_k_scales64(blk, &scales, &mins);
    memcpy(sc, &scales, 8);
    memcpy(mn, &mins, 8);
}

INLINE void q4_k_decode(const uint8_t *blk, int16_t *dst, kblock *kb) {
    uint8_t sc[8];
    q4_k_scales(blk, sc, kb->mins);
    kb->d = f16(blk);
    kb->dmin = f16(blk + 2);
    const __m256i low4 = _mm256_set1_epi16(0x0F);
    for (int g = 0; g < 4; g++) {
        __m256i s1 = _mm256_set1_epi16(sc[2 * g]), s2 = _mm256_set1_epi16(sc[2 * g + 1]);
        for (int k = 0; k < 32; k += 16) {
            __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + 16 + 32 * g + k)));
            _mm256_storeu_si256((__m256i *) (dst + 64 * g + k), _mm256_mullo_epi16(_mm256_and_si256(v, low4), s1));
            _mm256_storeu_si256((__m256i *) (dst + 64 * g + 32 + k), _mm256_mullo_epi16(_mm256_srli_epi16(v, 4), s2));
        }
    }
}

INLINE void q6_k_decode(const uint8_t *blk, int16_t *dst, kblock *kb) {
    const int8_t *sc = (const int8_t *) (blk + 192);
    kb->d = f16(blk + 208);
    const __m256i low4 = _mm256_set1_epi16(0x0F), two = _mm256_set1_epi16(0x03), offset = _mm256_set1_epi16(32);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
        for (int k = 0; k < 32; k += 16) {
            __m256i l0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (ql + k)));
            __m256i l1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (ql + 32 + k)));
            __m256i h = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (qh + k)));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4));
            q[2] = _mm256_or_si256(_mm256_srli_epi16(l0, 4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4));
            q[3] = _mm256_or_si256(_mm256_srli_epi16(l1, 4), _mm256_slli_epi16(_mm256_srli_epi16(h, 6), 4));
            for (int c = 0; c < 4; c++) {
                int v = 128 * half + 32 * c + k;
                __m256i s = _mm256_set1_epi16(sc[v / 16]);
                _mm256_storeu_si256((__m256i *) (dst + v), _mm256_mullo_epi16(_mm256_sub_epi16(q[c], offset), s));
            }
        }
    }
}

/* Q4_K values 64g..64g+31 (lo) and 64g+32..64g+63 (hi) as unsigned bytes 0..15. */
INLINE void q4_k_quants(const uint8_t *blk, int g, __m256i *lo, __m256i *hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i q = _mm256_loadu_si256((const __m256i *) (blk + 16 + 32 * g));
    *lo = _mm256_and_si256(q, low4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
}

/* Q5_K values 64g.. (lo) and 64g+32.. (hi) as unsigned bytes 0..31: the nibbles plus the fifth bits. */
INLINE void q5_k_quants(const uint8_t *blk, int g, __m256i *lo, __m256i *hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), fifth = _mm256_set1_epi8(0x10);
    __m256i h = _mm256_loadu_si256((const __m256i *) (blk + 16)), q = _mm256_loadu_si256((const __m256i *) (blk + 48 + 32 * g));
    /* bit 2g of byte l is value 64g+l's fifth bit, bit 2g+1 value 64g+32+l's: moved to bit 4 */
    __m256i hl = 2 * g <= 4 ? _mm256_slli_epi16(h, 4 - 2 * g) : _mm256_srli_epi16(h, 2 * g - 4);
    __m256i hh = 2 * g + 1 <= 4 ? _mm256_slli_epi16(h, 3 - 2 * g) : _mm256_srli_epi16(h, 2 * g - 3);
    *lo = _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(hl, fifth));
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), _mm256_and_si256(hh, fifth));
}

/* Q6_K values 128·half + 32c .. +31 (c = 0..3) as unsigned bytes 0..63 (the stored quants, + 32). */
INLINE void q6_k_quants(const uint8_t *blk, int half, __m256i q[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
    const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
    __m256i l0 = _mm256_loadu_si256((const __m256i *) ql), l1 = _mm256_loadu_si256((const __m256i *) (ql + 32));
    __m256i h = _mm256_loadu_si256((const __m256i *) qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4));
}

#if defined(__AVX512VNNI__)
/*
 * VNNI form of the single-vector K-quant dots: per 64 values two vpdpbusd (unsigned quants against the
 * int8 activations, four products per int lane, |lane| <= 4 * 63 * 128 < 2^15), packed to int16 and
 * multiplied by their scales with one vpdpwssd: four instructions where vpmaddubsw/vpmaddwd take six.
 * The scales come from one register of sixteen int16 by vpermw. Exact integers, so the same result.
 */
INLINE __m256i dot64_vnni(__m256i acc, __m256i q0, __m256i q1, const int8_t *x, __m256i scales) {
    __m256i d0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q0, _mm256_loadu_si256((const __m256i *) x));
    __m256i d1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q1, _mm256_loadu_si256((const __m256i *) (x + 32)));
    return _mm256_dpwssd_epi32(acc, _mm256_packs_epi32(d0, d1), scales);
}

/* Scales for packs_epi32(d0, d1)'s int16 lanes: a (d0 low), b (d1 low), c (d0 high), d (d1 high), four lanes each. */
INLINE __m256i pick_scales(__m256i s16, int a, int b, int c, int d) {
    return _mm256_permutexvar_epi16(_mm256_setr_epi16((short) a, (short) a, (short) a, (short) a, (short) b, (short) b, (short) b, (short) b,
                                                      (short) c, (short) c, (short) c, (short) c, (short) d, (short) d, (short) d, (short) d), s16);
}
#endif

/*
 * The single-vector path (k_rows) takes each super-block's integer sums unreduced: the lanes of *dot
 * add up to Σ scale * q * x against the int8 activation quants, those of *min to the minimum term
 * (Σ min * the sums of the activation quants it covers), and *dd holds d and dmin. Exact integers, so
 * any grouping of the lanes gives the same sums.
 */
typedef void (*k_vdotter)(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd);

/* d and dmin, stored side by side as two halves. */
INLINE __m128 two_halves(const uint8_t *p) {
    uint32_t pair;
    memcpy(&pair, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int) pair));
}

/*
 * Q4_K, or with fifth Q5_K: vpmaddubsw multiplies the unsigned quants by the signed activations into
 * exact int16 pair sums (|pair| <= 2 * 31 * 127), vpmaddwd by the sub-block scale into int32; with
 * VNNI, dot64_vnni. The minimums go in twice each, against the two 16-value sums of their 32 values.
 */
INLINE void q45_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd, int fifth) {
    uint64_t scales, mins;
    q4_k_scales64(blk, &scales, &mins);
    *dd = two_halves(blk);
    __m128i m8 = _mm_cvtsi64_si128((int64_t) mins);
    *min = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)), load16(bsums));
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
#if defined(__AVX512VNNI__)
    __m256i s16 = _mm256_cvtepu8_epi16(_mm_cvtsi64_si128((int64_t) scales));
#endif
    for (int g = 0; g < 4; g++) {
        __m256i lo, hi;
        if (fifth) q5_k_quants(blk, g, &lo, &hi);
        else q4_k_quants(blk, g, &lo, &hi);
#if defined(__AVX512VNNI__)
        if (g & 1) acc1 = dot64_vnni(acc1, lo, hi, x8 + 64 * g, pick_scales(s16, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1));
        else acc0 = dot64_vnni(acc0, lo, hi, x8 + 64 * g, pick_scales(s16, 2 * g, 2 * g + 1, 2 * g, 2 * g + 1));
#else
        __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *) (x8 + 64 * g)));
        __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *) (x8 + 64 * g + 32)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(plo, _mm256_set1_epi16((short) ((scales >> (16 * g)) & 0xFF))));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(phi, _mm256_set1_epi16((short) ((scales >> (16 * g + 8)) & 0xFF))));
#endif
    }
    *dot = _mm256_add_epi32(acc0, acc1);
}

INLINE void q4_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd) {
    q45_k_vdot(blk, x8, bsums, dot, min, dd, 0);
}

INLINE void q5_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd) {
    q45_k_vdot(blk, x8, bsums, dot, min, dd, 1);
}

/*
 * Q6_K: Σ scale * q * x with q unsigned (0..63, the stored quants + 32, so vpmaddubsw's pair sums are
 * exact), minus 32 * Σ scale * (sum of the 16 activation quants it covers).
 */
INLINE void q6_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd) {
    const int8_t *sc = (const int8_t *) (blk + 192);
    *dd = _mm_set_ss(f16(blk + 208));
    __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) sc));
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
    for (int half = 0; half < 2; half++) {
        __m256i q[4];
        q6_k_quants(blk, half, q);
#if defined(__AVX512VNNI__)
        /* 64 values k = 2 * half + c / 2: 16-value groups 4k..4k+3 */
        acc0 = dot64_vnni(acc0, q[0], q[1], x8 + 128 * half, pick_scales(scales, 8 * half, 8 * half + 2, 8 * half + 1, 8 * half + 3));
        acc1 = dot64_vnni(acc1, q[2], q[3], x8 + 128 * half + 64, pick_scales(scales, 8 * half + 4, 8 * half + 6, 8 * half + 5, 8 * half + 7));
#else
        for (int c = 0; c < 4; c++) {
            int v = 128 * half + 32 * c;
            __m256i p = _mm256_maddubs_epi16(q[c], _mm256_loadu_si256((const __m256i *) (x8 + v)));
            /* the low 128 bits hold values v..v+15 (scale v/16), the high ones v+16..v+31 */
            __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[v / 16 + 1]), _mm_set1_epi16(sc[v / 16]));
            if (c & 1) acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p, s));
            else acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p, s));
        }
#endif
    }
    *dot = _mm256_sub_epi32(_mm256_add_epi32(acc0, acc1), _mm256_slli_epi32(_mm256_madd_epi16(scales, load16(bsums)), 5));
    *min = _mm256_setzero_si256();
}

INLINE void q5_k_decode(const uint8_t *blk, int16_t *dst, kblock *kb) {
    uint8_t sc[8];
    q4_k_scales(blk, sc, kb->mins);
    kb->d = f16(blk);
    kb->dmin = f16(blk + 2);
    const __m256i low4 = _mm256_set1_epi16(0x0F), fifth = _mm256_set1_epi16(0x10);
    for (int k = 0; k < 32; k += 16) {
        __m256i h = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + 16 + k)));
        for (int g = 0; g < 4; g++) {
            __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + 48 + 32 * g + k)));
            /* bit 2g of the high-bit byte is value 64g+l's fifth bit, bit 2g+1 that of value 64g+32+l */
            __m256i lo = _mm256_or_si256(_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(h, 2 * g), 4), fifth));
            __m256i hi = _mm256_or_si256(_mm256_srli_epi16(v, 4), _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(h, 2 * g + 1), 4), fifth));
            _mm256_storeu_si256((__m256i *) (dst + 64 * g + k), _mm256_mullo_epi16(lo, _mm256_set1_epi16(sc[2 * g])));
            _mm256_storeu_si256((__m256i *) (dst + 64 * g + 32 + k), _mm256_mullo_epi16(hi, _mm256_set1_epi16(sc[2 * g + 1])));
        }
    }
}

/* Q3_K's sixteen scales (stored + 32), unpacked as ggml does, minus 32. */
INLINE void q3_k_scales(const uint8_t *blk, int8_t *out) {
    uint32_t a0, a1, a2;
    memcpy(&a0, blk + 96, 4);
    memcpy(&a1, blk + 100, 4);
    memcpy(&a2, blk + 104, 4);
    uint32_t s[4];
    s[0] = (a0 & 0x0F0F0F0Fu) | ((a2 & 0x03030303u) << 4);
    s[1] = (a1 & 0x0F0F0F0Fu) | (((a2 >> 2) & 0x03030303u) << 4);
    s[2] = ((a0 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 4) & 0x03030303u) << 4);
    s[3] = ((a1 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 6) & 0x03030303u) << 4);
    for (int i = 0; i < 16; i++) out[i] = (int8_t) ((int) ((s[i / 4] >> (8 * (i % 4))) & 0xFF) - 32);
}

INLINE void q3_k_decode(const uint8_t *blk, int16_t *dst, kblock *kb) {
    int8_t sc[16];
    q3_k_scales(blk, sc);
    kb->d = f16(blk + 108);
    const __m256i three = _mm256_set1_epi16(3), four = _mm256_set1_epi16(4);
    for (int k = 0; k < 32; k += 16) {
        __m256i hm = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + k)));
        for (int half = 0; half < 2; half++) {
            __m256i low = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + 32 + 32 * half + k)));
            for (int j = 0; j < 4; j++) {
                int v = 128 * half + 32 * j + k;
                /* low bits, minus 4 where the high bit (4·half + j of the mask) is clear */
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(low, 2 * j), three);
                __m256i high = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hm, 4 * half + j), 2), four);
                q = _mm256_sub_epi16(_mm256_or_si256(q, high), four);
                _mm256_storeu_si256((__m256i *) (dst + v), _mm256_mullo_epi16(q, _mm256_set1_epi16(sc[v / 16])));
            }
        }
    }
}

INLINE void q2_k_decode(const uint8_t *blk, int16_t *dst, kblock *kb) {
    kb->d = f16(blk + 80);
    kb->dmin = f16(blk + 82);
    for (int i = 0; i < 16; i++) kb->mins[i] = blk[i] >> 4;
    const __m256i three = _mm256_set1_epi16(3);
    for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 32; k += 16) {
            __m256i bits = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (blk + 16 + 32 * half + k)));
            for (int j = 0; j < 4; j++) {
                int v = 128 * half + 32 * j + k;
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), three);
                _mm256_storeu_si256((__m256i *) (dst + v), _mm256_mullo_epi16(q, _mm256_set1_epi16(blk[v / 16] & 0x0F)));
            }
        }
    }
}

/*
 * Σ scale * (u - 4) * x over one Q3_K super-block against the int8 quants, u = low bits | 4 * high
 * bit (0..7): Σ scale * u * x by vpmaddubsw/vpmaddwd, minus 4 * Σ scale * (sum of its 16 quants).
 */
INLINE void q3_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd) {
    int8_t sc[16];
    q3_k_scales(blk, sc);
    *dd = _mm_set_ss(f16(blk + 108));
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256i hm = _mm256_loadu_si256((const __m256i *) blk);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
    for (int half = 0; half < 2; half++) {
        __m256i low = _mm256_loadu_si256((const __m256i *) (blk + 32 + 32 * half));
        for (int j = 0; j < 4; j++) {
            int v = 128 * half + 32 * j;
            __m256i u = _mm256_and_si256(_mm256_srli_epi16(low, 2 * j), three);
            u = _mm256_or_si256(u, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * half + j), one), 2));
            __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *) (x8 + v)));
            __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[v / 16 + 1]), _mm_set1_epi16(sc[v / 16]));
            if (j & 1) acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p, s));
            else acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p, s));
        }
    }
    __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) sc));
    *dot = _mm256_sub_epi32(_mm256_add_epi32(acc0, acc1), _mm256_slli_epi32(_mm256_madd_epi16(scales, load16(bsums)), 2));
    *min = _mm256_setzero_si256();
}

/* Σ scale * q * x over one Q2_K super-block against the int8 quants (q 0..3, a 4-bit scale per 16 values). */
INLINE void q2_k_vdot(const uint8_t *blk, const int8_t *x8, const int16_t *bsums, __m256i *dot, __m256i *min, __m128 *dd) {
    *dd = two_halves(blk + 80);
    /* the 4-bit minimums, one per 16 values, in the high nibbles of the scale bytes */
    __m256i mins = _mm256_srli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) blk)), 4);
    *min = _mm256_madd_epi16(mins, load16(bsums));
    const __m256i three = _mm256_set1_epi8(3);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
    for (int half = 0; half < 2; half++) {
        __m256i bits = _mm256_loadu_si256((const __m256i *) (blk + 16 + 32 * half));
        for (int j = 0; j < 4; j++) {
            int v = 128 * half + 32 * j;
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), three);
            __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *) (x8 + v)));
            __m256i s = _mm256_set_m128i(_mm_set1_epi16(blk[v / 16 + 1] & 0x0F), _mm_set1_epi16(blk[v / 16] & 0x0F));
            if (j & 1) acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p, s));
            else acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p, s));
        }
    }
    *dot = _mm256_add_epi32(acc0, acc1);
}

/* The exact sums of four int vectors, as the four lanes of the result. */
INLINE __m128i sum4_ints(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    __m256i abcd = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

/*
 * R decoded rows (n values each, from row r of the decoded block) times V <= 4 vectors. Each
 * super-block's float work runs on four lanes at once, lane j for vector j: lane by lane the same
 * multiplications, conversions and FMAs as the scalar code, so the same bits.
 */
INLINE void k_tile(const int16_t *rows, const kblock *blocks, int r, int R, int n, const int16_t *xq, const float *xd, const int16_t *bsums,
                   int t0, int V, int hasMins, float *out, int outStride, int outRow) {
    int nb = n / 256;
    __m128 sum[TILE_ROWS], minSum[TILE_ROWS];
    for (int i = 0; i < R; i++) sum[i] = minSum[i] = _mm_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i acc[TILE_ROWS][4];
        for (int i = 0; i < R; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_si256();
        for (int v = 0; v < 256; v += 32) {
            __m256i w0[TILE_ROWS], w1[TILE_ROWS];
            for (int i = 0; i < R; i++) {
                const int16_t *wr = rows + (int64_t) (r + i) * n + 256 * b + v;
                w0[i] = load16(wr);
                w1[i] = load16(wr + 16);
            }
            for (int j = 0; j < V; j++) {
                const int16_t *x = xq + (int64_t) (t0 + j) * n + 256 * b + v;
                __m256i x0 = load16(x), x1 = load16(x + 16);
                for (int i = 0; i < R; i++) acc[i][j] = dot_acc(dot_acc(acc[i][j], w0[i], x0), w1[i], x1);
            }
        }
        float dxs[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        __m256i pairSums[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int j = 0; j < V; j++) {
            dxs[j] = xd[(int64_t) (t0 + j) * nb + b];
            /* the sixteen 16-value sums, or for minimums per 32 values the eight pair sums */
            if (hasMins == MINS_PER_16) pairSums[j] = load16(bsums + ((int64_t) (t0 + j) * nb + b) * 16);
            if (hasMins == MINS_PER_32) pairSums[j] = _mm256_madd_epi16(load16(bsums + ((int64_t) (t0 + j) * nb + b) * 16), _mm256_set1_epi16(1));
        }
        __m128 dx = _mm_loadu_ps(dxs);
        for (int i = 0; i < R; i++) {
            const kblock *kb = &blocks[(int64_t) (r + i) * nb + b];
            __m128 dots = _mm_cvtepi32_ps(sum4_ints(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
            sum[i] = _mm_fmadd_ps(_mm_mul_ps(dx, _mm_set1_ps(kb->d)), dots, sum[i]);
            if (hasMins) {
                __m128i minDots;
                if (hasMins == MINS_PER_16) {
                    __m256i mins = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) kb->mins));
                    minDots = sum4_ints(_mm256_madd_epi16(mins, pairSums[0]), _mm256_madd_epi16(mins, pairSums[1]),
                                        _mm256_madd_epi16(mins, pairSums[2]), _mm256_madd_epi16(mins, pairSums[3]));
                } else {
                    uint64_t packed;
                    memcpy(&packed, kb->mins, 8);
                    __m256i mins = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((int64_t) packed));
                    minDots = sum4_ints(_mm256_mullo_epi32(mins, pairSums[0]), _mm256_mullo_epi32(mins, pairSums[1]),
                                        _mm256_mullo_epi32(mins, pairSums[2]), _mm256_mullo_epi32(mins, pairSums[3]));
                }
                minSum[i] = _mm_fmadd_ps(_mm_mul_ps(dx, _mm_set1_ps(kb->dmin)), _mm_cvtepi32_ps(minDots), minSum[i]);
            }
        }
    }
    for (int i = 0; i < R; i++) {
        float lanes[4];
        _mm_storeu_ps(lanes, hasMins ? _mm_sub_ps(sum[i], minSum[i]) : sum[i]);
        for (int j = 0; j < V; j++) out[(int64_t) (t0 + j) * outStride + outRow + i] = lanes[j];
    }
}

typedef void (*k_decoder)(const uint8_t *blk, int16_t *dst, kblock *kb);

/*
 * Fewer vectors than a tile (token generation): one row at a time, straight from the weights, two
 * super-blocks per step so one reduction serves both blocks' dots and minimum terms. Lane 0 of acc is
 * the scalar code's sum, lane 1 its minSum, block by block: sum = fma(d_x * d, dot, sum), minSum =
 * fma(d_x * dmin, minDot, minSum), so the same bits. (Several rows at a time measured 2x slower here:
 * interleaved row streams defeat the prefetcher.)
 */
INLINE void k_rows(const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const float *xd, const int16_t *bsums, const int8_t *x8,
                   int n, int count, float *out, int outStride, int blockBytes, int hasMins, k_vdotter vdot) {
    int nb = n / 256;
    const __m256i zero = _mm256_setzero_si256();
    for (int r = rowStart; r < rowEnd; r++) {
        const uint8_t *row = w + (int64_t) r * rowBytes;
        for (int t = 0; t < count; t++) {
            const int8_t *x = x8 + (int64_t) t * n;
            const int16_t *bs = bsums + (int64_t) t * nb * 16;
            const float *dx = xd + (int64_t) t * nb;
            __m128 acc = _mm_setzero_ps();
            for (int b = 0; b < nb; b += 2) {
                __m256i dot0, min0, dot1 = zero, min1 = zero;
                __m128 dd0, dd1 = _mm_setzero_ps();
                vdot(row + (int64_t) b * blockBytes, x + 256 * b, bs + 16 * b, &dot0, &min0, &dd0);
                if (b + 1 < nb) vdot(row + (int64_t) (b + 1) * blockBytes, x + 256 * (b + 1), bs + 16 * (b + 1), &dot1, &min1, &dd1);
                __m128 sums = _mm_cvtepi32_ps(sum4_ints(dot0, min0, dot1, min1));
                acc = _mm_fmadd_ps(_mm_mul_ps(_mm_set1_ps(dx[b]), dd0), sums, acc);
                if (b + 1 < nb) acc = _mm_fmadd_ps(_mm_mul_ps(_mm_set1_ps(dx[b + 1]), dd1), _mm_movehl_ps(sums, sums), acc);
            }
            float sum = _mm_cvtss_f32(acc), minSum = _mm_cvtss_f32(_mm_movehdup_ps(acc));
            out[(int64_t) t * outStride + r] = hasMins ? sum - minSum : sum;
        }
    }
}

typedef void (*k_decoderT)(const uint8_t *blk, uint8_t *q, int32_t *scales, int16_t *mins, kblock *kb);

#if defined(__AVX512VNNI__)
#define VNNI_ONLY(f) f
/*
 * Batches of Q4_K, Q5_K and Q6_K with VNNI on transposed operands, as Q8_0's: per super-block, slice s
 * (s = 0..7) holds in int lane k the quants 4s..4s+3 of its 32-value chunk k, so eight vpdpbusd leave chunk
 * k's dot in lane k, which one vpmulld scales (Q6_K: two, one per 16-value half, each half starting from
 * -32 * its activation sum since the quants are stored + 32). The super-block's integer is then the sum of
 * the lanes, formed for eight (row, vector) pairs at once; the float work after it is k_tile's, lane by lane.
 */
#define KT_ROWS 2
#define KT_VECS 4

INLINE void q45_k_decodeT(const uint8_t *blk, uint8_t *q, int32_t *scales, int16_t *mins, kblock *kb, int fifth) {
    uint8_t sc[8];
    q4_k_scales(blk, sc, kb->mins);
    kb->d = f16(blk);
    kb->dmin = f16(blk + 2);
    __m256i chunks[8], slices[8];
    for (int g = 0; g < 4; g++) {
        if (fifth) q5_k_quants(blk, g, &chunks[2 * g], &chunks[2 * g + 1]);
        else q4_k_quants(blk, g, &chunks[2 * g], &chunks[2 * g + 1]);
    }
    transpose8(chunks, slices);
    for (int k = 0; k < 8; k++) {
        _mm256_store_si256((__m256i *) (q + 32 * k), slices[k]);
        scales[k] = sc[k];
    }
    _mm_store_si128((__m128i *) mins, _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) kb->mins)));
}

INLINE void q4_k_decodeT(const uint8_t *blk, uint8_t *q, int32_t *scales, int16_t *mins, kblock *kb) { q45_k_decodeT(blk, q, scales, mins, kb, 0); }

INLINE void q5_k_decodeT(const uint8_t *blk, uint8_t *q, int32_t *scales, int16_t *mins, kblock *kb) { q45_k_decodeT(blk, q, scales, mins, kb, 1); }

/* scales: the first halves' scales of the eight chunks, then the second halves'. */
INLINE void q6_k_decodeT(const uint8_t *blk, uint8_t *q, int32_t *scales, int16_t *mins, kblock *kb) {
    (void) mins;
    const int8_t *sc = (const int8_t *) (blk + 192);
    kb->d = f16(blk + 208);
    kb->dmin = 0.0f;
    __m256i chunks[8], slices[8];
    q6_k_quants(blk, 0, chunks);
    q6_k_quants(blk, 1, chunks + 4);
    transpose8(chunks, slices);
    for (int k = 0; k < 8; k++) _mm256_store_si256((__m256i *) (q + 32 * k), slices[k]);
    /* int16 pairs (sc[2k], sc[2k+1]) as int lanes: the low halves sign-extended, then the high ones */
    __m256i pairs = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) sc));
    _mm256_store_si256((__m256i *) scales, _mm256_srai_epi32(_mm256_slli_epi32(pairs, 16), 16));
    _mm256_store_si256((__m256i *) (scales + 8), _mm256_srai_epi32(pairs, 16));
}

/*
 * The minimum terms Σ_k min_k · xsum_k of super-block b for rows r..r+R-1 (R <= 2) and vectors t0..t0+V-1
 * (V <= 4): vpdpwssd of a row's eight int16 minimums (in both halves) against two vectors' eight int16 chunk
 * sums (one per half) leaves four partial sums per pair, and three vphaddd finish them, pair (i, j) in lane
 * 4 (j odd) + 2i + j / 2. Exact (|min| <= 63, |sum| <= 32 * 127), a third of the instructions of a vpmulld
 * per pair and a sum_each.
 */
_Static_assert(KT_ROWS == 2 && KT_VECS == 4, "min_lanes covers tiles of up to 2 rows x 4 vectors");
INLINE __m256i min_lanes(const int16_t *wmin, int r, int R, int nb, int b, const int16_t *xsums, int t0, int V) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i D[4];
    for (int i = 0; i < 2; i++) {
        __m256i m = i < R ? _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *) (wmin + ((int64_t) (r + i) * nb + b) * 8))) : zero;
        for (int h = 0; h < 2; h++) {
            __m128i xa = 2 * h < V ? _mm_load_si128((const __m128i *) (xsums + ((int64_t) (t0 + 2 * h) * nb + b) * 32)) : _mm_setzero_si128();
            __m128i xb = 2 * h + 1 < V ? _mm_load_si128((const __m128i *) (xsums + ((int64_t) (t0 + 2 * h + 1) * nb + b) * 32)) : _mm_setzero_si128();
            D[2 * i + h] = _mm256_dpwssd_epi32(zero, m, _mm256_set_m128i(xb, xa));
        }
    }
    return _mm256_hadd_epi32(_mm256_hadd_epi32(D[0], D[1]), _mm256_hadd_epi32(D[2], D[3]));
}

/*
 * Rows r..r+R-1 (decoded, transposed) times vectors t0..t0+V-1; xsums per vector and super-block: the eight
 * chunk sums as int16 (for the minimums), or for Q6_K (split) the starting lanes of the two halves.
 */
INLINE void kT_tile(const uint8_t *wT, const int32_t *wsc, const int16_t *wmin, const float *wd, const float *wdmin, int r, int R, int nb,
                    const uint8_t *xT, const int32_t *xsums, const float *xdT, int count, int t0, int V, int hasMins, int split, float *out,
                    int outStride, int outRow) {
    int n = 256 * nb;
    /* lane p = i * V + j: row i's d and vector j's scale */
    const __m256i rowOf = _mm256_setr_epi32(0 / V, 1 / V, 2 / V, 3 / V, 4 / V, 5 / V, 6 / V, 7 / V);
    const __m256i vecOf = _mm256_setr_epi32(0 % V, 1 % V, 2 % V, 3 % V, 4 % V, 5 % V, 6 % V, 7 % V);
    /* where min_lanes leaves pair (i, j): 4 (j odd) + 2i + j / 2 */
#define MIN_LANE(p) ((4 * ((p) % V % 2) + 2 * ((p) / V) + (p) % V / 2) & 7)
    const __m256i minLane = _mm256_setr_epi32(MIN_LANE(0), MIN_LANE(1), MIN_LANE(2), MIN_LANE(3), MIN_LANE(4), MIN_LANE(5), MIN_LANE(6), MIN_LANE(7));
#undef MIN_LANE
    __m256 sum = _mm256_setzero_ps(), minSum = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        /* slice by slice, each weight and activation slice loaded once for the tile: loads, not vpdpbusd, bound it */
        __m256i lo[8], hi[8], T[8];
        for (int p = 0; p < 8; p++) T[p] = _mm256_setzero_si256();
        for (int i = 0; i < R; i++)
            for (int j = 0; j < V; j++) {
                const int32_t *xs = xsums + ((int64_t) (t0 + j) * nb + b) * 16;
                lo[i * V + j] = split ? _mm256_load_si256((const __m256i *) xs) : _mm256_setzero_si256();
                hi[i * V + j] = split ? _mm256_load_si256((const __m256i *) (xs + 8)) : _mm256_setzero_si256();
            }
        for (int s = 0; s < 8; s++) {
            __m256i wv[KT_ROWS], xv[KT_VECS];
            for (int i = 0; i < R; i++) wv[i] = _mm256_load_si256((const __m256i *) (wT + (int64_t) (r + i) * n + 256 * b + 32 * s));
            for (int j = 0; j < V; j++) xv[j] = _mm256_load_si256((const __m256i *) (xT + (int64_t) (t0 + j) * n + 256 * b + 32 * s));
            for (int i = 0; i < R; i++)
                for (int j = 0; j < V; j++) {
                    /* Q6_K: slices 0-3 are each chunk's first 16 values, 4-7 its second */
                    if (split && s >= 4) hi[i * V + j] = _mm256_dpbusd_epi32(hi[i * V + j], wv[i], xv[j]);
                    else lo[i * V + j] = _mm256_dpbusd_epi32(lo[i * V + j], wv[i], xv[j]);
                }
        }
        for (int i = 0; i < R; i++) {
            const int32_t *sc = wsc + ((int64_t) (r + i) * nb + b) * 16;
            for (int j = 0; j < V; j++) {
                int p = i * V + j;
                T[p] = _mm256_mullo_epi32(lo[p], _mm256_load_si256((const __m256i *) sc));
                if (split) T[p] = _mm256_add_epi32(T[p], _mm256_mullo_epi32(hi[p], _mm256_load_si256((const __m256i *) (sc + 8))));
            }
        }
        __m256 dx = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xdT + (int64_t) b * count + t0), vecOf);
        __m256 d = _mm256_permutevar8x32_ps(_mm256_loadu_ps(wd + (int64_t) b * ROW_BLOCK + r), rowOf);
        sum = _mm256_fmadd_ps(_mm256_mul_ps(dx, d), _mm256_cvtepi32_ps(sum_each(T)), sum);
        if (hasMins) {
            __m256 dmin = _mm256_permutevar8x32_ps(_mm256_loadu_ps(wdmin + (int64_t) b * ROW_BLOCK + r), rowOf);
            __m256i mins = _mm256_permutevar8x32_epi32(min_lanes(wmin, r, R, nb, b, (const int16_t *) xsums, t0, V), minLane);
            minSum = _mm256_fmadd_ps(_mm256_mul_ps(dx, dmin), _mm256_cvtepi32_ps(mins), minSum);
        }
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, hasMins ? _mm256_sub_ps(sum, minSum) : sum);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) out[(int64_t) (t0 + j) * outStride + outRow + i] = lanes[i * V + j];
}

/* Batches (count >= TILE_VECS) on VNNI; 1 when out of memory. */
static int32_t kT_matmul(const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const float *xd, const int16_t *bsums, const int8_t *x8,
                         int n, int count, float *out, int outStride, int blockBytes, int hasMins, k_decoderT decode, int split) {
    int nb = n / 256;
    uint8_t *xT = scratch_buffer(SLOT_X8, (size_t) count * n);
    int32_t *xsums = scratch_buffer(SLOT_XFIX, (size_t) count * nb * 16 * sizeof(int32_t));
    uint8_t *wT = scratch_buffer(SLOT_ROWS, (size_t) ROW_BLOCK * n);
    int32_t *wsc = scratch_buffer(SLOT_KSCALES, (size_t) ROW_BLOCK * nb * 16 * sizeof(int32_t));
    int16_t *wmin = scratch_buffer(SLOT_KMINS, (size_t) ROW_BLOCK * nb * 8 * sizeof(int16_t));
    /* d and dmin per super-block and row, xd per super-block and vector (eight floats of slack: tiles load eight) */
    float *wd = scratch_buffer(SLOT_BLOCKS, (size_t) (2 * ROW_BLOCK * nb + 8) * sizeof(float)), *wdmin = wd + ROW_BLOCK * nb;
    float *xdT = scratch_buffer(SLOT_XSCALES, (size_t) (count * nb + 8) * sizeof(float));
    if (xT == NULL || xsums == NULL || wT == NULL || wsc == NULL || wmin == NULL || wd == NULL || xdT == NULL) return 1;
    prefetcher first = prefetch_rows(w, rowBytes, rowStart, rowStart + ROW_BLOCK < rowEnd ? rowStart + ROW_BLOCK : rowEnd, 0);
    prefetch_step(&first);
    for (int t = 0; t < count; t++)
        for (int b = 0; b < nb; b++) xdT[(int64_t) b * count + t] = xd[(int64_t) t * nb + b];
    for (int t = 0; t < count; t++)
        for (int b = 0; b < nb; b++) {
            __m256i chunks[8], slices[8];
            for (int k = 0; k < 8; k++) chunks[k] = _mm256_loadu_si256((const __m256i *) (x8 + (int64_t) t * n + 256 * b + 32 * k));
            transpose8(chunks, slices);
            for (int k = 0; k < 8; k++) _mm256_store_si256((__m256i *) (xT + (int64_t) t * n + 256 * b + 32 * k), slices[k]);
            __m256i bs = load16(bsums + ((int64_t) t * nb + b) * 16);
            int32_t *xs = xsums + ((int64_t) t * nb + b) * 16;
            if (split) {
                /* -32 * the sums of values 32k..32k+15 and 32k+16..32k+31 (16-value sums 2k and 2k+1) */
                __m256i first = _mm256_srai_epi32(_mm256_slli_epi32(bs, 16), 16), second = _mm256_srai_epi32(bs, 16);
                _mm256_store_si256((__m256i *) xs, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(first, 5)));
                _mm256_store_si256((__m256i *) (xs + 8), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(second, 5)));
            } else {
                __m256i chunkSums = _mm256_madd_epi16(bs, _mm256_set1_epi16(1));
                _mm_store_si128((__m128i *) xs, _mm_packs_epi32(_mm256_castsi256_si128(chunkSums), _mm256_extracti128_si256(chunkSums, 1)));
            }
        }
    int vecs = count - count % KT_VECS;
    for (int rb = rowStart; rb < rowEnd; rb += ROW_BLOCK) {
        int rows = rb + ROW_BLOCK < rowEnd ? ROW_BLOCK : rowEnd - rb;
        for (int i = 0; i < rows; i++) {
            const uint8_t *row = w + (int64_t) (rb + i) * rowBytes;
            for (int b = 0; b < nb; b++) {
                int64_t k = (int64_t) i * nb + b;
                kblock kb;
                decode(row + (int64_t) b * blockBytes, wT + (int64_t) i * n + 256 * b, wsc + 16 * k, wmin + 8 * k, &kb);
                wd[(int64_t) b * ROW_BLOCK + i] = kb.d;
                wdmin[(int64_t) b * ROW_BLOCK + i] = kb.dmin;
            }
        }
        int nextEnd = rb + rows + ROW_BLOCK < rowEnd ? rb + rows + ROW_BLOCK : rowEnd;
        prefetcher pf = prefetch_rows(w, rowBytes, rb + rows, nextEnd, (vecs / KT_VECS) * (rows / KT_ROWS));
        for (int t = 0; t < vecs; t += KT_VECS) {
            int r = 0;
            for (; r + KT_ROWS <= rows; r += KT_ROWS, prefetch_step(&pf))
                kT_tile(wT, wsc, wmin, wd, wdmin, r, KT_ROWS, nb, xT, xsums, xdT, count, t, KT_VECS, hasMins, split, out, outStride, rb + r);
            for (; r < rows; r++) kT_tile(wT, wsc, wmin, wd, wdmin, r, 1, nb, xT, xsums, xdT, count, t, KT_VECS, hasMins, split, out, outStride, rb + r);
        }
        for (int t = vecs; t < count; t++) {
            int r = 0;
            for (; r + KT_ROWS <= rows; r += KT_ROWS)
                kT_tile(wT, wsc, wmin, wd, wdmin, r, KT_ROWS, nb, xT, xsums, xdT, count, t, 1, hasMins, split, out, outStride, rb + r);
            for (; r < rows; r++) kT_tile(wT, wsc, wmin, wd, wdmin, r, 1, nb, xT, xsums, xdT, count, t, 1, hasMins, split, out, outStride, rb + r);
        }
        pf.step = pf.end - pf.next;
        prefetch_step(&pf);
    }
    return 0;
}
#else
#define VNNI_ONLY(f) NULL
#endif

INLINE int32_t k_matmul(const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const int16_t *xq, const float *xd, const int16_t *bsums,
                     const int8_t *x8, int n, int count, float *out, int outStride, int blockBytes, int hasMins, k_decoder decode,
                     k_vdotter vdot, k_decoderT decodeT, int split) {
#if defined(__AVX512VNNI__)
    if (decodeT != NULL && count >= TILE_VECS) return kT_matmul(w, rowBytes, rowStart, rowEnd, xd, bsums, x8, n, count, out, outStride, blockBytes, hasMins, decodeT, split);
#else
    (void) decodeT;
    (void) split;
#endif
    if (count < TILE_VECS) {
        k_rows(w, rowBytes, rowStart, rowEnd, xd, bsums, x8, n, count, out, outStride, blockBytes, hasMins, vdot);
        return 0;
    }
    int nb = n / 256;
    int16_t *decoded_rows = scratch_buffer(SLOT_ROWS, (size_t) ROW_BLOCK * n * sizeof(int16_t));
    if (decoded_rows == NULL) return 1;
    kblock *decoded_blocks = scratch_buffer(SLOT_BLOCKS, (size_t) ROW_BLOCK * nb * sizeof(kblock));
    if (decoded_blocks == NULL) return 1;
    for (int rb = rowStart; rb < rowEnd; rb += ROW_BLOCK) {
        int rows = rb + ROW_BLOCK < rowEnd ? ROW_BLOCK : rowEnd - rb;
        for (int i = 0; i < rows; i++) {
            const uint8_t *row = w + (int64_t) (rb + i) * rowBytes;
            for (int b = 0; b < nb; b++) {
                int64_t k = (int64_t) i * nb + b;
                decode(row + (int64_t) b * blockBytes, decoded_rows + (int64_t) i * n + 256 * b, &decoded_blocks[k]);
            }
        }
        int t = 0;
        for (; t + TILE_VECS <= count; t += TILE_VECS) {
            int r = 0;
            for (; r + TILE_ROWS <= rows; r += TILE_ROWS)
                k_tile(decoded_rows, decoded_blocks, r, TILE_ROWS, n, xq, xd, bsums, t, TILE_VECS, hasMins, out, outStride, rb + r);
            for (; r < rows; r++) k_tile(decoded_rows, decoded_blocks, r, 1, n, xq, xd, bsums, t, TILE_VECS, hasMins, out, outStride, rb + r);
        }
        for (; t < count; t++) {
            int r = 0;
            for (; r + TILE_ROWS <= rows; r += TILE_ROWS)
                k_tile(decoded_rows, decoded_blocks, r, TILE_ROWS, n, xq, xd, bsums, t, 1, hasMins, out, outStride, rb + r);
            for (; r < rows; r++) k_tile(decoded_rows, decoded_blocks, r, 1, n, xq, xd, bsums, t, 1, hasMins, out, outStride, rb + r);
        }
    }
    return 0;
}

EXPORT(herd_q4_k)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,
                  const int16_t *bsums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    return k_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, bsums, x8, n, count, out, outStride, 144, MINS_PER_32, q4_k_decode, q4_k_vdot, VNNI_ONLY(q4_k_decodeT), 0);
}

EXPORT(herd_q6_k)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,
                  const int16_t *bsums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    return k_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, bsums, x8, n, count, out, outStride, 210, MINS_NONE, q6_k_decode, q6_k_vdot, VNNI_ONLY(q6_k_decodeT), 1);
}

/* ------------------------------------------------------------- F32 F16 BF16 ------------------------------------------------------------- */

/*
 * Float weights against float activations, as FloatRowKernel: two FMA chains of eight lanes over 16
 * values at a time, the chains added lane by lane and summed by the butterfly, then the leftover
 * values one FMA each.
 */
enum { W_F32, W_F16, W_BF16 };

INLINE __m256 weights8(int kind, const uint8_t *p) {
    if (kind == W_F32) return _mm256_loadu_ps((const float *) p);
    __m128i h = _mm_loadu_si128((const __m128i *) p);
    if (kind == W_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE float weight1(int kind, const uint8_t *p) {
    if (kind == W_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p, 2);
    if (kind == W_F16) return _cvtsh_ss(h);
    uint32_t bits = (uint32_t) h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#if defined(__AVX512VNNI__)
#define FLOAT_ROWS 2
#define FLOAT_VECS 4
#else
#define FLOAT_ROWS 1
#define FLOAT_VECS 2
#endif

INLINE void float_tile(int kind, int size, const uint8_t *w, int64_t rowBytes, int r0, int R, const float *x, int n, int t0, int V,
                       float *out, int outStride) {
    __m256 acc0[FLOAT_ROWS][FLOAT_VECS], acc1[FLOAT_ROWS][FLOAT_VECS];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < V; j++) acc0[i][j] = acc1[i][j] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        __m256 w0[FLOAT_ROWS], w1[FLOAT_ROWS];
        for (int i = 0; i < R; i++) {
            const uint8_t *p = w + (int64_t) (r0 + i) * rowBytes + (int64_t) k * size;
            w0[i] = weights8(kind, p);
            w1[i] = weights8(kind, p + 8 * size);
        }
        for (int j = 0; j < V; j++) {
            const float *xv = x + (int64_t) (t0 + j) * n + k;
            __m256 x0 = _mm256_loadu_ps(xv), x1 = _mm256_loadu_ps(xv + 8);
            for (int i = 0; i < R; i++) {
                acc0[i][j] = _mm256_fmadd_ps(w0[i], x0, acc0[i][j]);
                acc1[i][j] = _mm256_fmadd_ps(w1[i], x1, acc1[i][j]);
            }
        }
    }
    for (int i = 0; i < R; i++) {
        const uint8_t *row = w + (int64_t) (r0 + i) * rowBytes;
        for (int j = 0; j < V; j++) {
            const float *xv = x + (int64_t) (t0 + j) * n;
            float sum = sum_lanes(_mm256_add_ps(acc0[i][j], acc1[i][j]));
            for (int l = k; l < n; l++) sum = __builtin_fmaf(weight1(kind, row + (int64_t) l * size), xv[l], sum);
            out[(int64_t) (t0 + j) * outStride + r0 + i] = sum;
        }
    }
}

INLINE void float_matmul(int kind, int size, const uint8_t *w, int64_t rowBytes, int rowStart, int rowEnd, const float *x, int n, int count,
                         float *out, int outStride) {
    if (count < FLOAT_VECS) {
        /* one row at a time: interleaved row streams slow the single-vector path down */
        for (int r = rowStart; r < rowEnd; r++)
            for (int t = 0; t < count; t++) float_tile(kind, size, w, rowBytes, r, 1, x, n, t, 1, out, outStride);
        return;
    }
    for (int rb = rowStart; rb < rowEnd; rb += ROW_BLOCK) {
        int re = rb + ROW_BLOCK < rowEnd ? rb + ROW_BLOCK : rowEnd;
        int t = 0;
        for (; t + FLOAT_VECS <= count; t += FLOAT_VECS) {
            int r = rb;
            for (; r + FLOAT_ROWS <= re; r += FLOAT_ROWS) float_tile(kind, size, w, rowBytes, r, FLOAT_ROWS, x, n, t, FLOAT_VECS, out, outStride);
            for (; r < re; r++) float_tile(kind, size, w, rowBytes, r, 1, x, n, t, FLOAT_VECS, out, outStride);
        }
        for (; t < count; t++)
            for (int r = rb; r < re; r++) float_tile(kind, size, w, rowBytes, r, 1, x, n, t, 1, out, outStride);
    }
}

#define FLOAT_EXPORT(name, kind, size)                                                                                             \
    EXPORT(name)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const float *x, const void *scales,         \
                 const void *sums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {                     \
        (void) scales;                                                                                                             \
        (void) sums;                                                                                                               \
        (void) x8;                                                                                                                 \
        float_matmul(kind, size, w, rowBytes, rowStart, rowEnd, x, n, count, out, outStride);                                     \
        return 0;                                                                                                                  \
    }

FLOAT_EXPORT(herd_f32, W_F32, 4)
FLOAT_EXPORT(herd_f16, W_F16, 2)
FLOAT_EXPORT(herd_bf16, W_BF16, 2)

EXPORT(herd_q5_k)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,
                  const int16_t *bsums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    return k_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, bsums, x8, n, count, out, outStride, 176, MINS_PER_32, q5_k_decode, q5_k_vdot, VNNI_ONLY(q5_k_decodeT), 0);
}

EXPORT(herd_q3_k)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,
                  const int16_t *bsums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    return k_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, bsums, x8, n, count, out, outStride, 110, MINS_NONE, q3_k_decode, q3_k_vdot, NULL, 0);
}

EXPORT(herd_q2_k)(const uint8_t *w, int64_t rowBytes, int32_t rowStart, int32_t rowEnd, const int16_t *xq, const float *xd,
                  const int16_t *bsums, int32_t n, int32_t count, float *out, int32_t outStride, const int8_t *x8) {
    return k_matmul(w, rowBytes, rowStart, rowEnd, xq, xd, bsums, x8, n, count, out, outStride, 84, MINS_PER_16, q2_k_decode, q2_k_vdot, NULL, 0);
}
