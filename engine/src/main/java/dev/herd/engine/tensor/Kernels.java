package dev.herd.engine.tensor;

import dev.herd.engine.tensor.types.BF16;
import dev.herd.engine.tensor.types.F16;
import dev.herd.engine.tensor.types.F32;
import dev.herd.engine.tensor.types.NativeKernels;
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
import java.util.Locale;
import java.util.Map;

/**
 * The kernel for each supported weight type. Which implementation is used is chosen by the
 * system property {@code herd.kernels} (or the environment variable {@code HERD_KERNELS}):
 * {@code auto} (default) takes the native kernel where the library loaded and the type has one,
 * else the Java kernel; {@code java} always the Java kernels; {@code native} like auto, but fails
 * when the native library is unavailable. Both compute the same bits (the tests check it), so the
 * choice changes speed only.
 */
public final class Kernels {
    private Kernels() {}

    /** The Java kernels: every supported type has one. */
    private static final Map<GgmlType, WeightKernel> BY_TYPE = new EnumMap<>(GgmlType.class);
    /** The native kernels that loaded. */
    private static final Map<GgmlType, WeightKernel> NATIVE = new EnumMap<>(GgmlType.class);
    /** The kernels {@link #forType(GgmlType)} hands out. */
    private static final Map<GgmlType, WeightKernel> SELECTED = new EnumMap<>(GgmlType.class);
    private static final String MODE;

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
        for (WeightKernel k : BY_TYPE.values()) NativeKernels.kernelFor(k).ifPresent(nk -> NATIVE.put(k.type(), nk));
        String mode = System.getProperty("herd.kernels", System.getenv().getOrDefault("HERD_KERNELS", "auto")).trim().toLowerCase(Locale.ROOT);
        if (!mode.equals("auto") && !mode.equals("java") && !mode.equals("native")) {
            throw new IllegalArgumentException("herd.kernels / HERD_KERNELS must be auto, java or native, got '" + mode + "'");
        }
        MODE = mode;
        SELECTED.putAll(BY_TYPE);
        if (!mode.equals("java")) SELECTED.putAll(NATIVE);
    }

    /** The kernel selection in force ({@code auto}, {@code java} or {@code native}). */
    public static String mode() { return MODE; }

    /** A one-line description of the kernels in use, for logs. */
    public static String describe() {
        if (MODE.equals("java")) return "Java kernels (herd.kernels=java)";
        return NativeKernels.isa().map(isa -> "native kernels (" + isa + ") for " + NATIVE.keySet() + ", Java for the rest")
                .orElse("Java kernels (native unavailable: " + NativeKernels.unavailableReason().orElse("?") + ")");
    }

    /** Whether {@code type} has a native kernel that loaded on this machine. */
    public static boolean hasNative(GgmlType type) {
        return NATIVE.containsKey(type);
    }

    /**
     * The kernel for {@code type} on the given path, whatever {@code herd.kernels} says (for tests
     * and benchmarks); fails when that path has no kernel for the type here.
     */
    public static WeightKernel forType(GgmlType type, KernelPath path) {
        WeightKernel k = (path == KernelPath.NATIVE ? NATIVE : BY_TYPE).get(type);
        if (k == null) {
            String why = path == KernelPath.JAVA || !NativeKernels.covers(type) ? "herd has no " + path + " kernel for " + type
                    : "native kernels unavailable: " + NativeKernels.unavailableReason().orElse("?");
            throw new UnsupportedTensorTypeException(why);
        }
        return k;
    }

    private static WeightKernel selected(GgmlType type) {
        if (MODE.equals("native") && !NativeKernels.available()) {
            throw new IllegalStateException("herd.kernels=native, but the native kernels are unavailable: "
                    + NativeKernels.unavailableReason().orElse("?"));
        }
        return SELECTED.get(type);
    }

    private static void register(WeightKernel k) {
        BY_TYPE.put(k.type(), k);
    }

    public static boolean isSupported(GgmlType type) {
        return BY_TYPE.containsKey(type);
    }

    /** The kernel for the tensor's type, or an exception naming the type and the tensor. */
    public static WeightKernel forTensor(Tensor t) {
        WeightKernel k = selected(t.type());
        if (k == null) {
            throw new UnsupportedTensorTypeException("tensor '" + t.name() + "' has type " + t.type()
                    + ", which herd does not support (supported: " + BY_TYPE.keySet() + ")");
        }
        return k;
    }

    public static WeightKernel forType(GgmlType type) {
        WeightKernel k = selected(type);
        if (k == null) throw new UnsupportedTensorTypeException("herd does not support tensor type " + type);
        return k;
    }
}
