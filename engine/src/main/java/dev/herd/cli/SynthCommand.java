package dev.herd.cli;

import dev.herd.engine.synth.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code herd synth}: a random-weight Llama 4 GGUF (tokenizer included) to benchmark without downloading a model. */
@Command(name = "synth", description = "Write a random-weight Llama 4 GGUF of a given shape and weight type.")
final class SynthCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--shape", defaultValue = "bench", paramLabel = "NAME",
            description = "text: bench (744M parameters) or tiny; vision projector (mmproj): vision (Llama 4's, 336 px tiles) or vision-tiny (pairs with tiny)")
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE",
            description = "text: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K; vision: F32, F16, BF16, Q8_0")
    String type;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE")
    Path out;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (shape.toLowerCase(java.util.Locale.ROOT).startsWith("vision")) return vision();
        SyntheticModel.Shape s;
        SyntheticModel.Preset p;
        try {
            s = SyntheticModel.Shape.named(shape);
            p = SyntheticModel.Preset.named(type);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        long start = System.nanoTime();
        SyntheticModel.write(s, p, seed, out);
        spec.commandLine().getErr().printf("wrote %s: %s shape, %s, %,d parameters, %.1f MiB in %.1f s%n", out, s.name(), p,
                s.parameters(), java.nio.file.Files.size(out) / 1048576.0, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private int vision() throws Exception {
        dev.herd.engine.synth.SyntheticVision.Shape s;
        dev.herd.engine.tensor.GgmlType t;
        try {
            s = dev.herd.engine.synth.SyntheticVision.Shape.named(shape);
            t = dev.herd.engine.tensor.GgmlType.valueOf(type.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage().startsWith("unknown") ? e.getMessage() : "unknown type '" + type + "' (vision projectors: F32, F16, BF16, Q8_0)");
        }
        if (t != dev.herd.engine.tensor.GgmlType.F32 && t != dev.herd.engine.tensor.GgmlType.F16
                && t != dev.herd.engine.tensor.GgmlType.BF16 && t != dev.herd.engine.tensor.GgmlType.Q8_0) {
            throw new CliException("vision projectors are written as F32, F16, BF16 or Q8_0, not " + t);
        }
        long start = System.nanoTime();
        dev.herd.engine.synth.SyntheticVision.write(s, t, seed, out);
        spec.commandLine().getErr().printf("wrote %s: %s projector, %s, %.1f MiB in %.1f s%n", out, s.name(), t,
                java.nio.file.Files.size(out) / 1048576.0, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
