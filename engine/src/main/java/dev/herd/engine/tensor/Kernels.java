package dev.herd.engine.tensor;

import dev.herd.engine.tensor.types.F32;

import java.util.EnumMap;
import java.util.Map;

/** The kernel for each supported weight type. */
public final class Kernels {
    private Kernels() {}

    private static final Map<GgmlType, WeightKernel> BY_TYPE = new EnumMap<>(GgmlType.class);

    static {
        register(new F32());
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
