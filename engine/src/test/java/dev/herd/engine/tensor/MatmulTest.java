package dev.herd.engine.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every kernel's matmul, on both paths (Java and native, see {@link KernelCases}), against a double-precision reference of
 * {@code dot(dequantize(w), decode(encoded x))}, for odd row ranges and several batch sizes; and
 * batch invariance: a vector gives bit-identical results alone and anywhere in a batch.
 */
class MatmulTest {

    private static final double UNIT_ROUNDOFF = 0x1p-24;

    /** Row lengths that exercise several blocks (and, for plain floats, a tail shorter than a vector). */
    static int rowLength(GgmlType type) {
        return switch (type.blockSize()) {
            case 1 -> 357;
            case 32 -> 352;
            default -> 768;
        };
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.herd.engine.tensor.KernelCases#all")
    void matmulMatchesDoublePrecisionReference(GgmlType type, KernelPath path) {
        Random rnd = new Random(type.ordinal() * 7919L + 1);
        WeightKernel kernel = KernelCases.kernel(type, path);
        int n = rowLength(type), rows = 13;
        long rowBytes = type.rowBytes(n);
        MemorySegment w = RandomWeights.matrix(type, rows, n, rnd);
        float[][] scalePart = dequantizeAll(kernel, RandomWeights.withZeroedFields(w, type, RandomWeights.minFields(type)), rows, n);
        float[][] minPart = dequantizeAll(kernel, RandomWeights.withZeroedFields(w, type, RandomWeights.scaleFields(type)), rows, n);
        float[][] full = dequantizeAll(kernel, w, rows, n);

        EncodedActivations x = new EncodedActivations(kernel.activationEncoding(), n);
        int[][] rowRanges = {{0, 13}, {3, 10}, {5, 6}, {7, 7}, {12, 13}};
        for (int batch : new int[]{1, 3, 4, 5, 9, 16, 17}) {
            float[] src = new float[batch * n];
            for (int t = 0; t < batch; t++) System.arraycopy(RandomWeights.activations(n, rnd), 0, src, t * n, n);
            x.encode(src, batch);
            for (int[] range : rowRanges) {
                int outStride = rows + 2;
                float[] out = new float[batch * outStride];
                java.util.Arrays.fill(out, Float.NaN);
                kernel.matmul(w, rowBytes, range[0], range[1], x, out, outStride);
                for (int t = 0; t < batch; t++) {
                    for (int r = 0; r < outStride; r++) {
                        float got = out[t * outStride + r];
                        if (r < range[0] || r >= range[1]) {
                            assertTrue(Float.isNaN(got), type + ": row " + r + " outside [" + range[0] + ", " + range[1] + ") was written");
                            continue;
                        }
                        double ref = 0, magnitude = 0;
                        for (int i = 0; i < n; i++) {
                            double xi = decoded(x, t, i);
                            ref += (double) full[r][i] * xi;
                            magnitude += (Math.abs((double) scalePart[r][i]) + Math.abs((double) minPart[r][i])) * Math.abs(xi);
                        }
                        if (kernel.activationEncoding() == ActivationEncoding.Q8_1) {
                            // ggml adds min·s with s = half(d·Σq) rather than min·half(d)·Σq: follow it
                            for (int b = 0; b < n / 32; b++) {
                                double m = minPart[r][b * 32], s = x.sums().getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * (n / 32) + b);
                                double dSum = 0;
                                for (int j = 0; j < 32; j++) dSum += decoded(x, t, b * 32 + j);
                                ref += m * (s - dSum);
                                magnitude += Math.abs(m * s);
                            }
                        }
                        // each float operation on a path rounds once, relative to at most `magnitude`;
                        // a path has one step per block (or per 16 values) plus the final lane sum
                        int steps = n / Math.max(type.blockSize(), 16) + 8;
                        double tolerance = 2 * steps * UNIT_ROUNDOFF * magnitude;
                        assertEquals(ref, got, tolerance, type + " batch " + batch + " vector " + t + " row " + r);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.herd.engine.tensor.KernelCases#all")
    void resultsDoNotDependOnTheBatch(GgmlType type, KernelPath path) {
        Random rnd = new Random(type.ordinal() + 99);
        WeightKernel kernel = KernelCases.kernel(type, path);
        int n = rowLength(type), rows = 11;
        long rowBytes = type.rowBytes(n);
        MemorySegment w = RandomWeights.matrix(type, rows, n, rnd);
        float[] probe = RandomWeights.activations(n, rnd);

        float[] alone = multiply(kernel, w, rowBytes, 0, rows, rows, n, new float[][]{probe}, 0, 1);
        // every batch size up to 17 (tiles full, partial and absent), the probe first, inside and
        // last, and row ranges that start and end off the tile boundaries
        int[][] rowRanges = {{0, rows}, {1, rows - 2}, {3, 8}, {5, 6}};
        for (int batch = 1; batch <= 17; batch++) {
            for (int position : new int[]{0, batch / 2, batch - 1}) {
                float[][] vectors = new float[batch][];
                for (int t = 0; t < batch; t++) vectors[t] = t == position ? probe : RandomWeights.activations(n, rnd);
                for (int[] range : rowRanges) {
                    float[] inBatch = multiply(kernel, w, rowBytes, range[0], range[1], rows, n, vectors, position, batch);
                    for (int r = range[0]; r < range[1]; r++) {
                        assertEquals(Float.floatToRawIntBits(alone[r]), Float.floatToRawIntBits(inBatch[r]),
                                type + ": row " + r + " alone gives " + alone[r] + ", at position " + position + " of " + batch
                                        + " (rows " + range[0] + ".." + range[1] + ") gives " + inBatch[r]);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.herd.engine.tensor.KernelCases#all")
    void resultsDoNotChangeOnceTheJitCompilesTheKernel(GgmlType type, KernelPath path) {
        // the first calls run interpreted, later ones C2-compiled: any float step whose order is
        // left to the implementation (as reduceLanes(ADD) is) would show up here; both the
        // single-vector and the batch path are exercised
        Random rnd = new Random(type.ordinal() + 5);
        WeightKernel kernel = KernelCases.kernel(type, path);
        int n = Math.max(type.blockSize(), 64), rows = 2, batch = 5;
        long rowBytes = type.rowBytes(n);
        MemorySegment w = RandomWeights.matrix(type, rows, n, rnd);
        float[] src = new float[batch * n];
        for (int t = 0; t < batch; t++) System.arraycopy(RandomWeights.activations(n, rnd), 0, src, t * n, n);
        EncodedActivations single = new EncodedActivations(kernel.activationEncoding(), n).encode(src, 1);
        EncodedActivations batched = new EncodedActivations(kernel.activationEncoding(), n).encode(src, batch);
        float[] firstSingle = new float[rows], firstBatch = new float[batch * rows];
        kernel.matmul(w, rowBytes, 0, rows, single, firstSingle, rows);
        kernel.matmul(w, rowBytes, 0, rows, batched, firstBatch, rows);
        float[] againSingle = new float[rows], againBatch = new float[batch * rows];
        for (int call = 0; call < 12_000; call++) {
            kernel.matmul(w, rowBytes, 0, rows, single, againSingle, rows);
            kernel.matmul(w, rowBytes, 0, rows, batched, againBatch, rows);
            assertSameBits(type + " single vector, call " + call, firstSingle, againSingle);
            assertSameBits(type + " batch, call " + call, firstBatch, againBatch);
        }
    }

    private static void assertSameBits(String what, float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": output " + i + " is " + actual[i] + ", the first call gave " + expected[i]);
            }
        }
    }

    /** Rows {@code [rowStart, rowEnd)} of the matrix times every vector; returns vector {@code keep}'s results (all rows, unwritten ones 0). */
    private static float[] multiply(WeightKernel kernel, MemorySegment w, long rowBytes, int rowStart, int rowEnd, int rows, int n,
                                    float[][] vectors, int keep, int batch) {
        float[] src = new float[batch * n];
        for (int t = 0; t < batch; t++) System.arraycopy(vectors[t], 0, src, t * n, n);
        EncodedActivations x = new EncodedActivations(kernel.activationEncoding(), n).encode(src, batch);
        float[] out = new float[batch * rows];
        kernel.matmul(w, rowBytes, rowStart, rowEnd, x, out, rows);
        float[] row = new float[rows];
        System.arraycopy(out, keep * rows, row, 0, rows);
        return row;
    }

    private static float[][] dequantizeAll(WeightKernel kernel, MemorySegment w, int rows, int n) {
        float[][] out = new float[rows][n];
        long rowBytes = kernel.type().rowBytes(n);
        for (int r = 0; r < rows; r++) kernel.dequantize(w, r * rowBytes, out[r], 0, n);
        return out;
    }

    /** The activation value the kernel multiplies by, in exact arithmetic. */
    private static double decoded(EncodedActivations x, int t, int i) {
        return switch (x.encoding()) {
            case F32, F16, BF16 -> x.f32(t, i);
            default -> (double) x.quant(t, i) * x.scale(t, i / x.encoding().blockSize());
        };
    }
}
