package dev.herd.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

class KernelsTest {

    @Test
    void everyTypeLlamaQuantizeWritesForTheQ2KToQ8_0PresetsIsSupported() {
        for (GgmlType t : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            assertTrue(t.supported(), t + " is supported");
            assertEquals(t, Kernels.forType(t).type());
        }
    }

    @Test
    void anUnsupportedTensorTypeFailsNamingTheTypeAndTheTensor() {
        Tensor t = new Tensor("blk.3.ffn_down_exps.weight", GgmlType.IQ2_XXS, new long[]{256, 4}, MemorySegment.ofArray(new byte[66 * 4]));
        assertFalse(GgmlType.IQ2_XXS.supported());
        UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class, () -> Kernels.forTensor(t));
        assertTrue(e.getMessage().contains("IQ2_XXS"), e.getMessage());
        assertTrue(e.getMessage().contains("blk.3.ffn_down_exps.weight"), e.getMessage());
        assertThrows(UnsupportedTensorTypeException.class, t::kernel);
    }

    @Test
    void matmulRejectsMismatchedActivationsAndRowSizes() {
        WeightKernel q4k = Kernels.forType(GgmlType.Q4_K);
        MemorySegment w = MemorySegment.ofArray(new byte[144 * 2]);
        EncodedActivations wrongEncoding = new EncodedActivations(ActivationEncoding.Q8_0, 256).encode(new float[256], 1);
        assertThrows(IllegalArgumentException.class, () -> q4k.matmul(w, 144, 0, 2, wrongEncoding, new float[2], 2));
        EncodedActivations x = new EncodedActivations(ActivationEncoding.Q8_K, 256).encode(new float[256], 1);
        assertThrows(IllegalArgumentException.class, () -> q4k.matmul(w, 140, 0, 2, x, new float[2], 2));
        assertThrows(IndexOutOfBoundsException.class, () -> q4k.matmul(w, 144, 0, 3, x, new float[3], 3));
    }
}
