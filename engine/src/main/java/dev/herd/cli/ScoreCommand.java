package dev.herd.cli;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code herd score}: log-likelihood of a continuation given a context (context tokenized with
 * BOS, continuation without, as evaluation harnesses do).
 */
@Command(name = "score", description = "Log-probability of --continuation given --context.")
final class ScoreCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--context", required = true, paramLabel = "TEXT")
    String context;

    @Option(names = "--continuation", required = true, paramLabel = "TEXT")
    String continuation;

    @Option(names = "--truncate", description = "drop the oldest context tokens if both do not fit (default: fail)")
    boolean truncate;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ScoreResult r;
        try (Engine engine = Engine.load(model.engineOptions())) {
            r = engine.score(new ScoreRequest(context, continuation, true,
                    truncate ? ContextOverflowPolicy.TRUNCATE_LEFT : ContextOverflowPolicy.ERROR)).get();
        }
        if (r.error() != null) throw new CliException(r.error(), 1);
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("logprob", r.logprob());
            out.put("is_greedy", r.isGreedy());
            out.put("n_tokens", r.nTokens());
            out.put("token_logprobs", r.tokenLogprobs());
            spec.commandLine().getOut().println(Json.write(out));
        } else {
            spec.commandLine().getOut().printf("logprob %.6f over %d tokens, greedy: %b%n", r.logprob(), r.nTokens(), r.isGreedy());
        }
        return 0;
    }
}
