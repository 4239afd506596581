package dev.herd.engine.testing;

import dev.herd.engine.tensor.types.NativeKernels;
import org.junit.jupiter.api.Assumptions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/** The native kernels' instruction-set variants this CPU runs: under CI none is a failure, elsewhere the test is skipped and says why. */
public final class NativeIsas {
    private NativeIsas() {}

    public static List<String> runnableOrSkip() {
        List<String> isas = NativeKernels.runnableIsas();
        if (isas.isEmpty()) {
            if (System.getenv("CI") != null) fail("native kernels unavailable under CI: " + NativeKernels.unavailableReason().orElse("?"));
            Assumptions.abort("native kernels unavailable: " + NativeKernels.unavailableReason().orElse("?"));
        }
        return isas;
    }
}
