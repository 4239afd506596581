package dev.herd.cli;

import dev.herd.engine.Engine;
import dev.herd.engine.runtime.BatchEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;

/** {@code herd logits}: raw little-endian float32 logits, {@code n_tokens × n_vocab}, every position. */
@Command(name = "logits", description = "Write the logits of every position as raw little-endian float32 [n_tokens][n_vocab].")
final class LogitsCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--tokens", required = true, paramLabel = "IDS", description = "comma-separated token ids (no BOS is added)")
    String tokens;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "output file")
    Path out;

    @Override
    public Integer call() throws Exception {
        int[] ids = ModelOptions.parseIds(tokens, "--tokens");
        try (BatchEngine engine = (BatchEngine) Engine.load(model.engineOptions());
             FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer row = ByteBuffer.allocate(engine.modelInfo().vocabSize() * 4).order(ByteOrder.LITTLE_ENDIAN);
            engine.logits(ids, (pos, logits, off, vocab) -> {
                row.clear();
                row.asFloatBuffer().put(logits, off, vocab);
                row.limit(vocab * 4);
                try {
                    while (row.hasRemaining()) ch.write(row);
                } catch (IOException e) {
                    throw new UncheckedIOException("writing " + out + ": " + e.getMessage(), e);
                }
            }).get();
        }
        return 0;
    }
}
