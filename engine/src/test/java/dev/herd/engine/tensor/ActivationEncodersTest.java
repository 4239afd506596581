package dev.herd.engine.tensor;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The activation encoders against straightforward scalar transcriptions of what llama.cpp's x86
 * CPU backend does ({@code quantize_row_q8_0}/{@code q8_1} AVX2 variant,
 * {@code quantize_row_q8_K_ref}, F16C rounding, {@code ggml_compute_fp32_to_bf16}), plus
 * hand-worked ties and the |q| ≤ 127 guarantee the integer kernels rely on.
 */
class ActivationEncodersTest {

    @Test
    void q8_0AndQ8_1MatchGgmlX86Quantiser() {
        Random rnd = new Random(1);
        int n = 32 * 24;
        float[] src = vectors(rnd, 3, n);
        for (ActivationEncoding e : new ActivationEncoding[]{ActivationEncoding.Q8_0, ActivationEncoding.Q8_1}) {
            EncodedActivations x = new EncodedActivations(e, n).encode(src, 3);
            for (int t = 0; t < 3; t++) {
                for (int b = 0; b < n / 32; b++) {
                    int at = t * n + b * 32;
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[at + j]));
                    float d = amax / 127f;
                    float id = amax != 0 ? 127f / amax : 0f;
                    int sum = 0;
                    for (int j = 0; j < 32; j++) {
                        int q = (int) Math.rint(src[at + j] * id);
                        sum += q;
                        assertEquals(q, x.quant(t, b * 32 + j), e + " quant " + (b * 32 + j) + " of vector " + t);
                    }
                    assertEquals(Float.float16ToFloat(Float.floatToFloat16(d)), x.scale(t, b), e + " scale of block " + b);
                    if (e == ActivationEncoding.Q8_1) {
                        assertEquals(Float.float16ToFloat(Float.floatToFloat16(d * sum)),
                                x.sums().getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * (n / 32) + b), "Q8_1 block sum " + b);
                    }
                }
            }
        }
    }

    @Test
    void q8_0RoundsTiesToEvenAsX86DoesAndZeroBlocksStayZero() {
        float[] src = new float[64];
        src[0] = 127f; // amax 127: the multiplier is exactly 1, so the values below are exact ties
        src[1] = 0.5f;
        src[2] = 1.5f;
        src[3] = 2.5f;
        src[4] = -2.5f;
        src[5] = -3.5f;
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_1, 64).encode(src, 1);
        int[] expected = {127, 0, 2, 2, -2, -4};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], x.quant(0, i), "value " + src[i]);
        assertEquals(1f, x.scale(0, 0));
        assertEquals(125f, x.sums().getAtIndex(ValueLayout.JAVA_FLOAT, 0));
        for (int i = 32; i < 64; i++) assertEquals(0, x.quant(0, i));
        assertEquals(0f, x.scale(0, 1));
        assertEquals(0f, x.sums().getAtIndex(ValueLayout.JAVA_FLOAT, 1));
    }

    @Test
    void q8_KMatchesGgmlQuantiser() {
        Random rnd = new Random(2);
        int n = 256 * 5;
        float[] src = vectors(rnd, 2, n);
        Arrays.fill(src, 256, 512, 0f); // an all-zero super-block in the first vector
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_K, n).encode(src, 2);
        for (int t = 0; t < 2; t++) {
            for (int b = 0; b < n / 256; b++) {
                int at = t * n + b * 256;
                float max = 0, amax = 0;
                for (int j = 0; j < 256; j++) {
                    float ax = Math.abs(src[at + j]);
                    if (ax > amax) {
                        amax = ax;
                        max = src[at + j];
                    }
                }
                int[] q = new int[256];
                float d = 0;
                if (amax != 0) {
                    float iscale = -127f / max;
                    for (int j = 0; j < 256; j++) q[j] = Math.min(127, nearestInt(iscale * src[at + j]));
                    d = 1 / iscale;
                }
                for (int j = 0; j < 256; j++) assertEquals(q[j], x.quant(t, b * 256 + j), "Q8_K quant " + (b * 256 + j));
                assertEquals(d, x.scale(t, b), "Q8_K scale of super-block " + b);
                for (int g = 0; g < 16; g++) {
                    int s = 0;
                    for (int j = 0; j < 16; j++) s += q[g * 16 + j];
                    assertEquals(s, x.sums().getAtIndex(ValueLayout.JAVA_SHORT, (long) t * (n / 16) + b * 16 + g), "bsum " + g);
                }
            }
        }
        assertEquals(0f, x.scale(0, 1), "all-zero super-block");
    }

    @Test
    void q8_KRoundsTiesToEven() {
        float[] src = new float[256];
        src[0] = -127f; // iscale = -127 / -127 = 1
        src[1] = 2.5f;
        src[2] = 3.5f;
        src[3] = -0.5f;
        src[4] = 127f;
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_K, 256).encode(src, 1);
        int[] expected = {-127, 2, 4, 0, 127};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], x.quant(0, i), "value " + src[i]);
        assertEquals(1f, x.scale(0, 0));
    }

    @Test
    void nanAndInfinityQuantiseToZeroOrTheLargestQuant() {
        // Q8_K: NaNs never win the largest-magnitude search and quantise to 0; an infinity wins
        // (scale -inf, finite values become 0 * x = 0, the infinity 0 * inf = NaN -> 0)
        float[] k = new float[512];
        for (int i = 0; i < 256; i++) k[i] = i % 7 - 3f;
        k[5] = Float.NaN;
        k[9] = -6.35f; // largest magnitude: iscale = -127 / -6.35 = 20
        k[256 + 3] = Float.POSITIVE_INFINITY;
        k[256 + 4] = 2f;
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_K, 512).encode(k, 1);
        assertEquals(0, x.quant(0, 5), "NaN");
        assertEquals(-127, x.quant(0, 9));
        assertEquals(60, x.quant(0, 6), "value 3 * 20");
        for (int i = 256; i < 512; i++) assertEquals(0, x.quant(0, i), "block with an infinity, value " + i);
        // Q8_0: a NaN makes amax NaN (Math.max), so the whole block's quants are 0
        float[] q = new float[64];
        for (int i = 0; i < 64; i++) q[i] = i - 20f;
        q[40] = Float.NaN;
        EncodedActivations y = new EncodedActivations(ActivationEncoding.Q8_0, 64).encode(q, 1);
        assertEquals(-127, y.quant(0, 0), "-20 * 127 / 20");
        assertEquals(70, y.quant(0, 31), "11 * 127 / 20 = 69.85");
        for (int i = 32; i < 64; i++) assertEquals(0, y.quant(0, i), "block with a NaN, value " + i);
    }

    @Test
    void quantsNeverExceed127InMagnitude() {
        float[] extremes = new float[256 * 4];
        Random rnd = new Random(3);
        for (int i = 0; i < 256; i++) extremes[i] = (float) (rnd.nextGaussian() * 1e30);
        for (int i = 256; i < 512; i++) extremes[i] = Float.MIN_VALUE * rnd.nextInt(5) * (rnd.nextBoolean() ? 1 : -1);
        for (int i = 512; i < 768; i++) extremes[i] = rnd.nextBoolean() ? Float.MAX_VALUE : -Float.MAX_VALUE;
        for (int i = 768; i < 1024; i++) extremes[i] = (float) rnd.nextGaussian() * (float) Math.scalb(1, rnd.nextInt(60) - 30);
        for (ActivationEncoding e : new ActivationEncoding[]{ActivationEncoding.Q8_0, ActivationEncoding.Q8_1, ActivationEncoding.Q8_K}) {
            EncodedActivations x = new EncodedActivations(e, extremes.length).encode(extremes, 1);
            for (int i = 0; i < extremes.length; i++) {
                int q = x.quant(0, i);
                assertTrue(q >= -127 && q <= 127, e + " quant " + i + " = " + q);
            }
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        float[] src = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 65520f, -1 - 0x1p-11f, 0x1p-25f, 0x1.8p-25f, 3.14159f};
        float[] expected = {1f, 1 + 0x1p-9f, Float.POSITIVE_INFINITY, -1f, 0f, 0x1p-24f, Float.float16ToFloat(Float.floatToFloat16(3.14159f))};
        EncodedActivations x = new EncodedActivations(ActivationEncoding.F16, src.length).encode(src, 1);
        for (int i = 0; i < src.length; i++) assertEquals(expected[i], x.f32(0, i), "F16 of " + src[i]);
    }

    @Test
    void bf16RoundsToNearestEvenKeepsSubnormalsAndQuietsNans() {
        float[] src = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 1 + 0x1p-8f + 0x1p-20f, Float.MAX_VALUE, 0x1p-130f, Float.intBitsToFloat(0x7f800001), -2.75f};
        EncodedActivations x = new EncodedActivations(ActivationEncoding.BF16, src.length).encode(src, 1);
        assertEquals(1f, x.f32(0, 0));
        assertEquals(1 + 0x1p-6f, x.f32(0, 1));
        assertEquals(1 + 0x1p-7f, x.f32(0, 2));
        assertEquals(Float.POSITIVE_INFINITY, x.f32(0, 3));
        assertEquals(0x1p-130f, x.f32(0, 4));
        assertEquals(0x7fc00000 >>> 16, Float.floatToRawIntBits(x.f32(0, 5)) >>> 16 & 0xffc0, "quiet NaN");
        assertEquals(-2.75f, x.f32(0, 6));
    }

    @Test
    void rejectsLengthsThatAreNotWholeBlocksAndShortSources() {
        assertThrows(IllegalArgumentException.class, () -> new EncodedActivations(ActivationEncoding.Q8_K, 128));
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_0, 64);
        assertThrows(IndexOutOfBoundsException.class, () -> x.encode(new float[100], 2));
    }

    @Test
    void nativeEncodersWriteTheJavaEncodersBits() {
        List<String> isas = dev.herd.engine.tensor.types.NativeKernels.runnableIsas();
        assertFalse(System.getenv("CI") != null && isas.isEmpty(), "CI builds the native kernels: they must load");
        Assumptions.assumeFalse(isas.isEmpty(), "no native kernels here");
        Random rnd = new Random(11);
        int n = 2048, count = 40;
        float[] src = new float[count * n];
        for (int t = 0; t < count; t++) {
            float scale = (float) Math.scalb(1.0, rnd.nextInt(80) - 40);
            for (int i = 0; i < n; i++) {
                int at = t * n + i;
                src[at] = switch (rnd.nextInt(60)) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    case 2 -> Float.MIN_VALUE * (rnd.nextInt(9) - 4); // subnormals
                    case 3 -> (rnd.nextInt(255) - 127) * 0.5f;       // ties once the scale is 1 or 2
                    default -> (float) rnd.nextGaussian() * scale;
                };
            }
        }
        // whole blocks of zeros, of subnormals only, of extremes, and exact ties
        Arrays.fill(src, 256, 512, 0f);
        for (int i = 512; i < 768; i++) src[i] = Float.MIN_VALUE * (i % 5 - 2);
        for (int i = 768; i < 1024; i++) src[i] = i % 3 == 0 ? Float.MAX_VALUE : i % 3 == 1 ? -Float.MAX_VALUE : 1e-30f;
        src[1024] = 127f;
        for (int i = 1025; i < 1056; i++) src[i] = (i - 1040) + 0.5f;
        for (String isa : isas) {
            ActivationEncoders.NativeEncoders nat = new ActivationEncoders.NativeEncoders(isa);
            for (ActivationEncoding e : new ActivationEncoding[]{ActivationEncoding.Q8_0, ActivationEncoding.Q8_1, ActivationEncoding.Q8_K}) {
                EncodedActivations viaJava = new EncodedActivations(e, n), viaNative = new EncodedActivations(e, n);
                viaJava.prepare(count);
                viaNative.prepare(count);
                for (int t = 0; t < count; t++) {
                    ActivationEncoders.encodeJava(e, src, t * n, n, viaJava, t);
                    assertTrue(nat.encode(e, src, t * n, n, viaNative, t), isa + " " + e + " refused finite vector " + t);
                }
                for (var pair : List.of(List.of(viaJava.values(), viaNative.values()), List.of(viaJava.scales(), viaNative.scales()),
                        List.of(viaJava.sums(), viaNative.sums()), List.of(viaJava.bytes(), viaNative.bytes()))) {
                    assertEquals(-1, pair.get(0).mismatch(pair.get(1)), isa + " " + e + ": first differing byte");
                }
            }
            float[] bad = Arrays.copyOf(src, n);
            for (float v : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                bad[n - 1] = v;
                for (ActivationEncoding e : new ActivationEncoding[]{ActivationEncoding.Q8_0, ActivationEncoding.Q8_1, ActivationEncoding.Q8_K}) {
                    EncodedActivations x = new EncodedActivations(e, n);
                    x.prepare(1);
                    assertFalse(nat.encode(e, bad, 0, n, x, 0), isa + " " + e + " should leave a vector holding " + v + " to Java");
                }
            }
        }
    }

    /** ggml's {@code nearest_int}: the float add of 1.5·2^23 rounds to nearest even. */
    private static int nearestInt(float f) {
        float v = f + 12582912f;
        return (Float.floatToRawIntBits(v) & 0x007fffff) - 0x00400000;
    }

    private static float[] vectors(Random rnd, int count, int n) {
        float[] src = new float[count * n];
        for (int i = 0; i < src.length; i++) src[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(40) == 0 ? 25 : 1));
        Arrays.fill(src, 64, 96, 0f);
        return src;
    }
}
