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

    @Option(names = "--shape", defaultValue = "bench", paramLabel = "NAME", description = "bench (744M parameters) or tiny")
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K")
    String type;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE")
    Path out;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S")
    long seed;

    @Override
    public Integer call() throws Exception {
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
}
