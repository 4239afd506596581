package dev.herd.cli;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.KvCacheType;
import dev.herd.engine.Prompt;
import dev.herd.engine.runtime.BatchEngine;
import dev.herd.engine.runtime.StepStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * {@code herd bench}: prompt-processing speed, one-sequence decode speed and aggregate decode
 * speed at several batch sizes, plus peak memory outside the mapped weights. Timings are the
 * engine's own step times (decode speed counts only steps that decode), as llama-bench and
 * llama-batched-bench report them.
 */
@Command(name = "bench", description = "Measure prompt and decode throughput on a model (see docs/performance.md).")
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE")
    Path model;

    @Option(names = "--prompt-tokens", defaultValue = "512", paramLabel = "N", description = "prompt length for the prompt-processing test")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "128", paramLabel = "N", description = "tokens each sequence generates in the decode tests")
    int genTokens;

    @Option(names = "--decode-prompt-tokens", paramLabel = "N", description = "prompt of each sequence in the decode tests"
            + " (default: 1 for one sequence, as llama-bench -n 128 decodes from an empty cache; 128 for more, as llama-batched-bench -npp 128)")
    Integer decodePromptTokens;

    @Option(names = "--batch", defaultValue = "1,4,16", split = ",", paramLabel = "B", description = "concurrent sequences for the decode tests")
    List<Integer> batches;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", paramLabel = "N", description = "compute threads (default: all cores)")
    int threads;

    @Option(names = "--kv-cache-type", defaultValue = "f32", paramLabel = "TYPE", description = "KV cache element type: f32 or f16 (default: f32)")
    String kvCacheType;

    @Option(names = "--repetitions", paramLabel = "N", description = "timed runs per test, averaged"
            + " (default: 5 for the prompt and one-sequence tests, as llama-bench -r 5; 1 for batches, as llama-batched-bench)")
    Integer repetitions;

    @Option(names = "--warmup-rounds", paramLabel = "N", description = "untimed rounds of every test before timing"
            + " (default: at least 3, then until a round's JIT compilation takes under 50 ms, at most 8)")
    Integer warmupRounds;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    /**
     * Tokens per scheduler step: prompts are prefilled in chunks of this many, as llama-bench's
     * default micro-batch (512). One step over a whole long prompt would need its activations at
     * once (a 4096-token step ran out of bin/herd's 256 MiB heap).
     */
    private static final int STEP_TOKENS = 512;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(model)) throw new CliException("model file not found: " + model);
        if (promptTokens < 1 || genTokens < 1 || (decodePromptTokens != null && decodePromptTokens < 1) || (repetitions != null && repetitions < 1)
                || (warmupRounds != null && warmupRounds < 0)) {
            throw new CliException("token counts and repetitions must be >= 1, --warmup-rounds >= 0");
        }
        for (int b : batches) if (b < 1) throw new CliException("--batch sizes must be >= 1");
        KvCacheType kvType = ModelOptions.parseKvCacheType(kvCacheType);
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        Map<String, Integer> decodePrompts = new LinkedHashMap<>();
        for (int b : batches) decodePrompts.put(Integer.toString(b), decodePrompt(b));
        int longestDecodePrompt = decodePrompts.values().stream().mapToInt(Integer::intValue).max().orElse(1);
        int context = Math.max(promptTokens, longestDecodePrompt + genTokens) + 16;
        RssSampler rss = new RssSampler();
        rss.start();
        Map<String, Object> out = new LinkedHashMap<>();
        // KV for every sequence of the largest batch (or the prompt test), with headroom.
        EngineOptions options = EngineOptions.of(model).withThreads(threads).withContextLength(context)
                .withMaxBatchTokens(STEP_TOKENS).withMaxSequences(Math.max(maxBatch, 1)).withKvCacheType(kvType);
        long kvBytes = Math.max(1L << 24, (maxBatch * (long) context + promptTokens) * kvBytesPerPosition(model, kvType) * 5 / 4);
        try (BatchEngine engine = (BatchEngine) Engine.load(options.withKvCacheBytes(kvBytes))) {
            out.put("model", engine.modelInfo().name());
            out.put("type", engine.modelInfo().fileType());
            out.put("kv_cache_mib", round(kvBytes / 1048576.0));
            out.put("kv_cache_type", kvType.id());
            SplittableRandom random = new SplittableRandom(1234);
            int vocab = engine.modelInfo().vocabSize();
            // Warm-up rounds until the JIT has (almost) nothing left to compile: see warmUp.
            List<Long> warmupJit = warmUp(engine, random, vocab);
            out.put("warmup_rounds", warmupJit.size());
            if (jitMillis() >= 0) out.put("warmup_jit_compile_ms", warmupJit);

            // JIT compilation during each timed test (all its repetitions): the JIT shares the cores
            // with the compute threads, so a test with much of it was slowed by it.
            Map<String, Long> jitMillis = new LinkedHashMap<>();
            Map<String, Integer> runs = new LinkedHashMap<>();
            Map<String, Double> stddev = new LinkedHashMap<>();
            long jit = jitMillis();
            double[] promptRates = new double[repetitions(1)];
            for (int r = 0; r < promptRates.length; r++) {
                promptRates[r] = run(engine, random, vocab, 1, promptTokens, 1).prefillTokensPerSecond();
                rss.sample();
            }
            jitMillis.put("prompt", jitMillis() - jit);
            runs.put("prompt", promptRates.length);
            stddev.put("prompt", round(stddev(promptRates)));
            Map<String, Double> decode = new LinkedHashMap<>();
            for (int b : batches) {
                String test = Integer.toString(b);
                jit = jitMillis();
                double[] rates = new double[repetitions(b)];
                for (int r = 0; r < rates.length; r++) {
                    rates[r] = run(engine, random, vocab, b, decodePrompt(b), genTokens).decodeTokensPerSecond();
                    rss.sample();
                }
                jitMillis.put(test, jitMillis() - jit);
                runs.put(test, rates.length);
                stddev.put(test, round(stddev(rates)));
                decode.put(test, round(mean(rates)));
            }
            out.put("threads", engine.threads());
            out.put("prompt_tokens", promptTokens);
            out.put("gen_tokens", genTokens);
            out.put("decode_prompt_tokens", decodePrompts);
            out.put("prompt_tokens_per_s", round(mean(promptRates)));
            out.put("decode_tokens_per_s", decode);
            out.put("repetitions", runs);
            out.put("stddev_tokens_per_s", stddev);
            if (jitMillis() >= 0) out.put("jit_compile_ms", jitMillis);
        }
        rss.stop();
        out.put("rss_outside_weights_mib", round(rss.peakAnonKib / 1024.0));
        out.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(), "java", Runtime.version().toString(),
                "os", System.getProperty("os.name") + " " + System.getProperty("os.arch")));
        if (json) {
            spec.commandLine().getOut().println(Json.write(out));
        } else {
            out.forEach((k, v) -> spec.commandLine().getOut().println(k + ": " + v));
        }
        return 0;
    }

    /**
     * Each sequence's prompt in the decode test of {@code batch} sequences. By default each test is
     * the one its llama.cpp counterpart runs: {@code llama-bench -n 128} decodes one sequence from
     * an empty cache (here: after a one-token prompt, the least the engine takes), and
     * {@code llama-batched-bench -npp 128 -ntg 128 -npl B} gives each of B sequences a 128-token
     * prompt. Attention's cost grows with the context, so the two are not interchangeable.
     */
    private int decodePrompt(int batch) {
        return decodePromptTokens != null ? decodePromptTokens : batch == 1 ? 1 : 128;
    }

    /**
     * Timed runs of a test with {@code sequences} at once (the prompt test: one). By default as the
     * llama.cpp counterparts: llama-bench averages 5 runs, llama-batched-bench makes one.
     */
    private int repetitions(int sequences) {
        return repetitions != null ? repetitions : sequences == 1 ? 5 : 1;
    }

    private static double mean(double[] xs) {
        double sum = 0;
        for (double x : xs) sum += x;
        return sum / xs.length;
    }

    /** Sample standard deviation (0 for one run), as llama-bench's stddev_ts. */
    private static double stddev(double[] xs) {
        if (xs.length < 2) return 0;
        double m = mean(xs), sq = 0;
        for (double x : xs) sq += (x - m) * (x - m);
        return Math.sqrt(sq / (xs.length - 1));
    }

    private static long kvBytesPerPosition(Path model, KvCacheType type) throws java.io.IOException {
        try (dev.herd.engine.gguf.GgufModel gguf = dev.herd.engine.gguf.GgufModel.open(model)) {
            dev.herd.engine.model.llama4.Llama4Config c = dev.herd.engine.model.llama4.Llama4Config.fromGguf(gguf);
            return 2L * c.layers() * c.kvDim() * type.elementBytes();
        }
    }

    /** {@code sequences} generations of {@code gen} tokens after random {@code prompt}-token prompts, at once; the engine's step statistics for them. */
    private static StepStats.Snapshot run(BatchEngine engine, SplittableRandom random, int vocab, int sequences, int prompt, int gen) throws Exception {
        StepStats.Snapshot before = engine.stepStats();
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        for (int i = 0; i < sequences; i++) {
            int[] ids = new int[prompt];
            for (int j = 0; j < prompt; j++) ids[j] = random.nextInt(vocab);
            futures.add(engine.generate(GenerationRequest.greedy(new Prompt.Tokens(ids), gen).withIgnoreEos(true)));
        }
        for (CompletableFuture<GenerationResult> f : futures) {
            GenerationResult r = f.get();
            if (r.error() != null) throw new CliException("benchmark request failed: " + r.error(), 1);
        }
        return engine.stepStats().minus(before);
    }

    /** Warm-up rounds when {@code --warmup-rounds} is not given: at least this many, ... */
    private static final int MIN_WARMUP_ROUNDS = 3;
    /** ... then until a round's JIT compilation takes under this long ... */
    private static final long QUIET_ROUND_JIT_MS = 50;
    /** ... and at most this many. */
    private static final int MAX_WARMUP_ROUNDS = 8;

    /**
     * Runs every timed configuration once per round, at full size, then waits for the JIT to go
     * idle, until the timed tests will run as a long job's steps do: compiled. HotSpot compiles a
     * method once its counters pass thresholds, so the per-layer and per-step methods of the
     * forward pass reach C2 only after hundreds to thousands of steps, and large methods
     * (the MoE block: ~0.3 s each) are compiled again at each tier and OSR entry. On these two
     * cores every compilation takes a core from a compute thread: with one shortened warm-up
     * round the timed tests still saw 30-130 ms of compilation in the one-sequence decode and
     * 150-1300 ms in the 16-sequence one. Typical per-round compilation here: ~3 s, ~60 ms, then
     * a second burst of 0.5-1.7 s (methods crossing the C2 thresholds), ~120 ms, ~20 ms. Returns
     * each round's JIT time (-1 where the JVM does not report it: then only
     * {@value #MIN_WARMUP_ROUNDS} rounds).
     */
    private List<Long> warmUp(BatchEngine engine, SplittableRandom random, int vocab) throws Exception {
        List<Long> jit = new ArrayList<>();
        int rounds = warmupRounds != null ? warmupRounds : MAX_WARMUP_ROUNDS;
        for (int round = 0; round < rounds; round++) {
            long before = jitMillis();
            run(engine, random, vocab, 1, promptTokens, 1);
            for (int b : batches) run(engine, random, vocab, b, decodePrompt(b), genTokens);
            awaitCompilerQuiet();
            long compiled = before < 0 ? -1 : jitMillis() - before;
            jit.add(compiled);
            if (warmupRounds == null && round + 1 >= MIN_WARMUP_ROUNDS && compiled < QUIET_ROUND_JIT_MS) break;
        }
        return jit;
    }

    /**
     * Waits (at most 3 s) until the JIT has compiled nothing for 100 ms: compilations the warm-up
     * triggered would otherwise run beside the first timed run, on a core it needs.
     */
    private static void awaitCompilerQuiet() throws InterruptedException {
        long deadline = System.nanoTime() + 3_000_000_000L, before = jitMillis();
        if (before < 0) return;
        while (System.nanoTime() < deadline) {
            Thread.sleep(100);
            long now = jitMillis();
            if (now == before) return;
            before = now;
        }
    }

    /** Total JIT compilation time so far in ms, or -1 where the JVM does not tell. */
    private static long jitMillis() {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /**
     * Peak anonymous resident memory (heap, native buffers, KV cache: everything but mapped files),
     * sampled every 250 ms and after every timed run. Not more often: on a machine with as many
     * cores as compute threads, each wake-up of this thread takes a core from a compute thread,
     * and every parallel loop that thread is in then waits for it (every 20 ms cost 2-3 % of
     * one-sequence decode here: ~100 more stalls of over 100 us per 400 tokens). The memory
     * outside the weights grows with the buffers and the KV cache and stays, so the end of a run
     * sees its peak.
     */
    static final class RssSampler {
        volatile long peakAnonKib;
        private volatile boolean running = true;
        private Thread thread;

        void start() {
            thread = Thread.ofPlatform().daemon().name("herd-rss").start(() -> {
                while (running) {
                    sample();
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
            sample();
        }

        synchronized void sample() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("RssAnon:")) {
                        long kib = Long.parseLong(line.replaceAll("\\D", ""));
                        if (kib > peakAnonKib) peakAnonKib = kib;
                    }
                }
            } catch (java.io.IOException | NumberFormatException e) {
                // not Linux: no figure
            }
        }
    }
}
