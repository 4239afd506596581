package dev.herd.engine.tensor;

import dev.herd.engine.tensor.types.BF16;
import dev.herd.engine.tensor.types.F16;
import dev.herd.engine.tensor.types.F32;
import dev.herd.engine.tensor.types.Q2_K;
import dev.herd.engine.tensor.types.Q3_K;
import dev.herd.engine.tensor.types.Q4_0;
import dev.herd.engine.tensor.types.Q4_1;
import dev.herd.engine.tensor.types.Q4_K;
import dev.herd.engine.tensor.types.Q5_0;
import dev.herd.engine.tensor.types.Q5_1;
import dev.herd.engine.tensor.types.Q5_K;
import dev.herd.engine.tensor.types.Q6_K;
import dev.herd.engine.tensor.types.Q8_0;

import java.util.EnumMap;
import java.util.Map;

/** The kernel for each supported weight type. */
public final class Kernels {
    private Kernels() {}

    private static final Map<GgmlType, WeightKernel> BY_TYPE = new EnumMap<>(GgmlType.class);

    static {
        register(new F32());
        register(new F16());
        register(new BF16());
        register(new Q8_0());
        register(new Q4_0());
        register(new Q4_1());
        register(new Q5_0());
        register(new Q5_1());
        register(new Q2_K());
        register(new Q3_K());
        register(new Q4_K());
        register(new Q5_K());
        register(new Q6_K());
    }

    private static void register(WeightKernel k) {
        BY_TYPE.put(k.type(), k);
    }

    public static boolean isSupported(GgmlType type) {
        return BY_TYPE.containsKey(type);
    }

    /** The kernel for the tensor's type, or an exception naming the type and the tensor. */
    public static WeightKernel forTensor(Tensor t) {
        WeightKernel k = BY_TYPE.get(t.type());
        if (k == null) {
            throw new UnsupportedTensorTypeException("tensor '" + t.name() + "' has type " + t.type()
                    + ", which herd does not support (supported: " + BY_TYPE.keySet() + ")");
        }
        return k;
    }

    public static WeightKernel forType(GgmlType type) {
        WeightKernel k = BY_TYPE.get(type);
        if (k == null) throw new UnsupportedTensorTypeException("herd does not support tensor type " + type);
        return k;
    }
}
