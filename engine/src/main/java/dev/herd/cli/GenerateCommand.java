package dev.herd.cli;

import dev.herd.engine.ChatMessage;
import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.SamplingParams;
import dev.herd.engine.TokenLogprob;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code herd generate}: one generation; with {@code --json} prints {@code {"ids":[…],"text":"…","finish_reason":"…"}}. */
@Command(name = "generate", description = "Generate a continuation of a prompt (greedy unless --temperature > 0).")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    static final class Input {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "prompt text (BOS is added)")
        String prompt;

        @Option(names = "--tokens", paramLabel = "IDS", description = "comma-separated prompt token ids, fed as they are")
        String tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--chat", description = "wrap --prompt (and the images) as a user message in the model's chat template")
    boolean chat;

    @Option(names = "--mmproj", paramLabel = "FILE", description = "vision projector GGUF (needed for --image)")
    java.nio.file.Path mmproj;

    @Option(names = "--image", paramLabel = "FILE", description = "image to show the model (repeatable; each replaces one <|image|> in the prompt, else they come first)")
    List<java.nio.file.Path> images = new ArrayList<>();

    @Option(names = {"-n", "--max-tokens"}, required = true, paramLabel = "N", description = "most tokens to generate")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 = greedy (default)")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "0 = off")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1", description = "1 = off")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0", description = "0 = off")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "X", defaultValue = "1", description = "1 = off")
    float repeatPenalty;

    @Option(names = "--frequency-penalty", paramLabel = "X", defaultValue = "0")
    float frequencyPenalty;

    @Option(names = "--presence-penalty", paramLabel = "X", defaultValue = "0")
    float presencePenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64", description = "tokens the penalties look back over (-1 = all)")
    int repeatLastN;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "sampling seed (same seed, same output)")
    long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "stop string (repeatable)")
    List<String> stop = new ArrayList<>();

    @Option(names = "--stop-token", paramLabel = "ID", description = "extra stop token id (repeatable)")
    List<Integer> stopTokens = new ArrayList<>();

    @Option(names = "--logprobs", paramLabel = "N", defaultValue = "0", description = "report the top N alternatives per token")
    int logprobs;

    @Option(names = "--ignore-eos", description = "do not stop at end-of-generation tokens")
    boolean ignoreEos;

    @Option(names = "--truncate", description = "drop the oldest prompt tokens if the prompt does not fit (default: fail)")
    boolean truncate;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) throw new CliException("--max-tokens must be >= 0");
        if (chat && input.prompt == null) throw new CliException("--chat needs --prompt");
        SamplingParams sampling;
        try {
            sampling = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, repeatLastN, seed);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        if (!images.isEmpty() && mmproj == null) throw new CliException("--image needs --mmproj (the vision projector)");
        if (!images.isEmpty() && input.tokens != null) throw new CliException("--image needs --prompt, not --tokens");
        List<byte[]> imageBytes = new ArrayList<>();
        for (java.nio.file.Path p : images) {
            if (!java.nio.file.Files.isRegularFile(p)) throw new CliException("image not found: " + p);
            imageBytes.add(java.nio.file.Files.readAllBytes(p));
        }
        Prompt prompt;
        if (input.tokens != null) {
            prompt = new Prompt.Tokens(ModelOptions.parseIds(input.tokens, "--tokens"));
        } else if (chat) {
            List<ChatMessage.Content> parts = new ArrayList<>();
            for (byte[] b : imageBytes) parts.add(new ChatMessage.Content.Image(b));
            parts.add(new ChatMessage.Content.Text(input.prompt));
            prompt = new Prompt.Chat(List.of(new ChatMessage("user", parts)));
        } else {
            prompt = new Prompt.Text(input.prompt, true, false, imageBytes);
        }

        GenerationRequest request = new GenerationRequest(prompt, sampling, maxTokens, stop,
                stopTokens.stream().mapToInt(Integer::intValue).toArray(), logprobs,
                truncate ? ContextOverflowPolicy.TRUNCATE_LEFT : ContextOverflowPolicy.ERROR, ignoreEos);
        GenerationResult r;
        dev.herd.engine.runtime.StepStats.Snapshot steps = null;
        if (mmproj != null && !java.nio.file.Files.isRegularFile(mmproj)) throw new CliException("vision projector not found: " + mmproj);
        try (Engine engine = Engine.load(mmproj == null ? model.engineOptions() : model.engineOptions().withMmproj(mmproj))) {
            r = engine.generate(request).get();
            if (engine instanceof dev.herd.engine.runtime.BatchEngine b) steps = b.stepStats();
        }
        if (r.error() != null) throw new CliException(r.error(), 1);
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("ids", r.ids());
            out.put("text", r.text());
            out.put("finish_reason", r.finishReason().jsonName());
            out.put("prompt_tokens", r.promptTokens());
            out.put("completion_tokens", r.completionTokens());
            if (logprobs > 0) out.put("logprobs", logprobsJson(r.logprobs()));
            if (steps != null) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("prompt_ms", Math.round(steps.prefillNanos() / 1e4) / 100.0);
                t.put("decode_ms", Math.round(steps.decodeNanos() / 1e4) / 100.0);
                t.put("decode_tokens_per_s", Math.round(steps.decodeTokensPerSecond() * 10) / 10.0);
                t.put("total_ms", Math.round(r.latencyNanos() / 1e4) / 100.0);
                out.put("timings", t);
            }
            spec.commandLine().getOut().println(Json.write(out));
        } else {
            spec.commandLine().getOut().println(r.text());
        }
        return 0;
    }

    private static List<Map<String, Object>> logprobsJson(List<TokenLogprob> lps) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (TokenLogprob lp : lps) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", lp.token());
            m.put("text", lp.text());
            m.put("logprob", lp.logprob());
            List<Map<String, Object>> top = new ArrayList<>();
            for (TokenLogprob.Alternative a : lp.top()) top.add(Map.of("id", a.token(), "text", a.text(), "logprob", a.logprob()));
            m.put("top", top);
            out.add(m);
        }
        return out;
    }
}
