package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.WeightKernel;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.Optional;

/**
 * The native kernels ({@code libherdkernels.so}, built from {@code engine/src/main/c} by the Maven
 * build when gcc is present): found on the class path, extracted from a jar if need be, and bound
 * to the variant for the best instruction set this CPU has (AVX-512 with VNNI, else AVX2).
 * Everything here is resolved once; when the library or the CPU support is missing,
 * {@link #unavailableReason()} says why and the Java kernels are used.
 *
 * <p>{@code -Dherd.kernels.isa=avx2} forces the AVX2 variant on an AVX-512 machine (to test it).
 */
public final class NativeKernels {
    private NativeKernels() {}

    static final String RESOURCE = "/native/linux-x86_64/libherdkernels.so";

    /** The types with native kernels: each is {@code herd_<type>_<isa>} in the library (e.g. {@code herd_q4_k_avx512}). */
    private static final Set<GgmlType> COVERED = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

    /** (w, rowBytes, rowStart, rowEnd, values, scales, sums, n, count, out, outStride, bytes) → 0, or 1 when out of memory. */
    private static final FunctionDescriptor MATMUL = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS);

    private static final SymbolLookup LIBRARY;
    private static final int CPU_LEVEL;
    private static final String ISA;
    private static final String UNAVAILABLE;

    static {
        SymbolLookup library = null;
        String isa = null, unavailable = null;
        int level = 0;
        try {
            library = load();
            level = (int) Linker.nativeLinker().downcallHandle(library.findOrThrow("herd_cpu_level"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT)).invokeExact();
            String forced = System.getProperty("herd.kernels.isa", "").toLowerCase(Locale.ROOT);
            if (level == 0) {
                unavailable = "this CPU lacks AVX2 and FMA";
            } else if (forced.equals("avx2") || level == 1) {
                isa = "avx2";
            } else {
                isa = "avx512";
            }
        } catch (Throwable e) {
            unavailable = e.getMessage() != null ? e.getMessage() : e.toString();
            library = null;
        }
        LIBRARY = library;
        CPU_LEVEL = level;
        ISA = isa;
        UNAVAILABLE = unavailable;
    }

    private static SymbolLookup load() throws IOException, URISyntaxException {
        String os = System.getProperty("os.name", ""), arch = System.getProperty("os.arch", "");
        if (!os.startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("no native kernels for " + os + "/" + arch + " (only Linux x86-64)");
        }
        URL url = NativeKernels.class.getResource(RESOURCE);
        if (url == null) throw new IllegalStateException(RESOURCE + " is not on the class path (the build had no gcc?)");
        return SymbolLookup.libraryLookup(libraryFile(url), Arena.global());
    }

    /** The library as a file: in place when the class path is a directory, else copied out of the jar to a temporary file. */
    static Path libraryFile(URL url) throws IOException, URISyntaxException {
        if (url.getProtocol().equals("file")) return Path.of(url.toURI());
        Path path = Files.createTempFile("libherdkernels", ".so");
        path.toFile().deleteOnExit();
        try (InputStream in = url.openStream()) {
            Files.copy(in, path, StandardCopyOption.REPLACE_EXISTING);
        }
        return path;
    }

    /** Whether the library loaded and this CPU can run it. */
    public static boolean available() { return ISA != null; }

    /** Why the native kernels are not available, or empty. */
    public static Optional<String> unavailableReason() { return Optional.ofNullable(UNAVAILABLE); }

    /** The instruction set of the bound variant ("avx512" or "avx2"), or empty. */
    public static Optional<String> isa() { return Optional.ofNullable(ISA); }

    /** Whether {@code type} has a native kernel (regardless of availability). */
    public static boolean covers(GgmlType type) { return COVERED.contains(type); }

    /** The native kernel for {@code javaKernel}'s type, or empty when unavailable or not covered. */
    public static Optional<WeightKernel> kernelFor(WeightKernel javaKernel) {
        return available() ? kernelFor(javaKernel, ISA) : Optional.empty();
    }

    /**
     * The library's function {@code <name>_<isa>} for the bound instruction set, as a critical
     * downcall (heap arrays passed in place), or empty when the native kernels are unavailable.
     */
    public static Optional<MethodHandle> function(String name, FunctionDescriptor descriptor) {
        return available() ? Optional.of(function(name, ISA, descriptor)) : Optional.empty();
    }

    /** {@code <name>_<isa>}, one of {@link #runnableIsas()} (for tests of every variant). */
    public static MethodHandle function(String name, String isa, FunctionDescriptor descriptor) {
        if (!runnableIsas().contains(isa)) throw new IllegalArgumentException("this CPU cannot run the " + isa + " variant");
        return Linker.nativeLinker().downcallHandle(LIBRARY.findOrThrow(name + "_" + isa), descriptor, Linker.Option.critical(true));
    }

    /** The instruction sets this CPU can run the library's variants for: "avx2", then "avx512" if present. */
    public static List<String> runnableIsas() {
        if (LIBRARY == null) return List.of();
        return CPU_LEVEL >= 2 ? List.of("avx2", "avx512") : CPU_LEVEL == 1 ? List.of("avx2") : List.of();
    }

    /** The native kernel of one instruction set (which the caller checked this CPU runs). */
    static Optional<WeightKernel> kernelFor(WeightKernel javaKernel, String isa) {
        GgmlType type = javaKernel.type();
        if (!COVERED.contains(type) || LIBRARY == null) return Optional.empty();
        MethodHandle handle = function("herd_" + type.name().toLowerCase(Locale.ROOT), isa, MATMUL);
        return Optional.of(new NativeKernel(javaKernel, handle, isa));
    }
}
