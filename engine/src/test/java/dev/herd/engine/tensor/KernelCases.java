package dev.herd.engine.tensor;

import dev.herd.engine.tensor.types.NativeKernels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.provider.Arguments;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The (type, path) pairs kernel tests run over: every supported type on the Java path, and the
 * types with native kernels on the native path too. Where the native library is missing the native
 * cases are skipped, except under CI (which has gcc): there a missing library fails the test.
 */
public final class KernelCases {
    private KernelCases() {}

    public static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
            GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

    public static Stream<Arguments> all() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType t : TYPES) cases.add(Arguments.of(t, KernelPath.JAVA));
        for (GgmlType t : TYPES) if (NativeKernels.covers(t)) cases.add(Arguments.of(t, KernelPath.NATIVE));
        return cases.stream();
    }

    /** The kernel for the case; a missing native kernel skips the test, or fails it under CI. */
    public static WeightKernel kernel(GgmlType type, KernelPath path) {
        if (path == KernelPath.NATIVE && !Kernels.hasNative(type)) {
            String why = "no native " + type + " kernel: " + NativeKernels.unavailableReason().orElse("not loaded");
            if (System.getenv("CI") != null) fail(why + " (CI builds with gcc, so the library must be there)");
            Assumptions.abort(why);
        }
        return Kernels.forType(type, path);
    }
}
