package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.KernelCases;
import dev.herd.engine.tensor.KernelPath;
import dev.herd.engine.tensor.Kernels;
import dev.herd.engine.tensor.RandomWeights;
import dev.herd.engine.tensor.WeightKernel;
import dev.herd.engine.testing.NativeIsas;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The native kernels load where the build had gcc (from the class path's directory or out of a
 * jar), and compute the Java kernels' bits exactly, in
 * every instruction-set variant this CPU runs, for single vectors and batches of every size up to
 * 17, row ranges off the tile boundaries, and rows long and short (float rows with tails).
 */
class NativeKernelsTest {

    @Test
    void theLibraryLoadsWhereTheBuildHadGcc() {
        boolean expected = System.getenv("CI") != null || (Files.exists(Path.of("/usr/bin/gcc"))
                && System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64"));
        Assumptions.assumeTrue(expected, "no gcc here, so the build made no native library");
        assertNotNull(NativeKernels.class.getResource(NativeKernels.RESOURCE), "the build did not produce " + NativeKernels.RESOURCE);
        assertTrue(NativeKernels.available(), "native kernels unavailable: " + NativeKernels.unavailableReason().orElse("?"));
        for (GgmlType t : KernelCases.TYPES) {
            assertEquals(NativeKernels.covers(t), Kernels.hasNative(t), t.toString());
        }
        assertTrue(Kernels.describe().contains("native"), Kernels.describe());
    }

    @Test
    void theLibraryIsExtractedFromAJar(@TempDir Path dir) throws Exception {
        URL resource = NativeKernels.class.getResource(NativeKernels.RESOURCE);
        Assumptions.assumeTrue(resource != null && NativeKernels.available(), "no native library built here");
        byte[] library = Files.readAllBytes(Path.of(resource.toURI()));
        Path jar = dir.resolve("engine.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(NativeKernels.RESOURCE.substring(1)));
            out.write(library);
        }
        URL inJar = URI.create("jar:" + jar.toUri() + "!" + NativeKernels.RESOURCE).toURL();
        Path extracted = NativeKernels.libraryFile(inJar);
        assertArrayEquals(library, Files.readAllBytes(extracted));
        try (Arena arena = Arena.ofConfined()) {
            assertTrue(SymbolLookup.libraryLookup(extracted, arena).find("herd_cpu_level").isPresent());
        }
    }

    @Test
    void everyVariantComputesTheJavaKernelsBits() {
        List<String> isas = NativeIsas.runnableOrSkip();
        for (GgmlType type : KernelCases.TYPES) {
            if (!NativeKernels.covers(type)) continue;
            WeightKernel java = Kernels.forType(type, KernelPath.JAVA);
            for (String isa : isas) {
                WeightKernel nat = NativeKernels.kernelFor(java, isa).orElseThrow();
                int[] lengths = switch (type.blockSize()) {
                    case 256 -> new int[]{256, 1280, 4096};
                    case 32 -> new int[]{32, 416, 4096};
                    default -> new int[]{7, 357, 4096}; // float rows: a tail shorter than a vector
                };
                for (int n : lengths) {
                    compare(java, nat, type, n, isa);
                }
            }
        }
    }

    private static void compare(WeightKernel java, WeightKernel nat, GgmlType type, int n, String isa) {
        Random rnd = new Random(n * 31L + type.ordinal());
        int rows = 37;
        long rowBytes = type.rowBytes(n);
        MemorySegment w = RandomWeights.matrix(type, rows, n, rnd);
        int[][] rowRanges = {{0, rows}, {3, 22}, {5, 6}, {0, 26}};
        for (int batch : new int[]{1, 2, 3, 4, 5, 7, 8, 9, 16, 17}) {
            float[] src = new float[batch * n];
            for (int t = 0; t < batch; t++) System.arraycopy(RandomWeights.activations(n, rnd), 0, src, t * n, n);
            EncodedActivations x = new EncodedActivations(java.activationEncoding(), n).encode(src, batch);
            for (int[] range : rowRanges) {
                float[] expected = new float[batch * rows], actual = new float[batch * rows];
                Arrays.fill(expected, Float.NaN);
                Arrays.fill(actual, Float.NaN);
                java.matmul(w, rowBytes, range[0], range[1], x, expected, rows);
                nat.matmul(w, rowBytes, range[0], range[1], x, actual, rows);
                if (batch == 3) {
                    // weights on the heap (pinned for the call) give the same results as native memory
                    float[] fromHeap = new float[batch * rows];
                    Arrays.fill(fromHeap, Float.NaN);
                    nat.matmul(MemorySegment.ofArray(w.toArray(ValueLayout.JAVA_BYTE)), rowBytes, range[0], range[1], x, fromHeap, rows);
                    assertArrayEquals(actual, fromHeap, type + " " + isa + ": heap weights");
                }
                for (int i = 0; i < expected.length; i++) {
                    if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                        fail(type + " " + isa + " n=" + n + " batch " + batch + " rows " + range[0] + ".." + range[1] + ": vector " + i / rows
                                + " row " + i % rows + " native " + actual[i] + ", Java " + expected[i]);
                    }
                }
            }
        }
    }
}
