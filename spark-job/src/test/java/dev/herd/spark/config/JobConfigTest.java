package dev.herd.spark.config;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.KvCacheType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class JobConfigTest {
    private static final String MINIMAL = """
            input: {path: data/in.parquet}
            output: {path: out}
            model: {path: m.gguf}
            prompt: {column: text}
            """;

    private static ConfigException problems(String yaml, String... overrides) {
        return assertThrows(ConfigException.class, () -> JobConfig.parse(yaml, "job.yaml", List.of(overrides)));
    }

    @Test
    void defaultsAndInferredFormat() {
        JobConfig c = JobConfig.parse(MINIMAL, "job.yaml", List.of());
        assertEquals(JobConfig.InputFormat.PARQUET, c.input().format());
        assertEquals(JobConfig.Mode.GENERATE, c.mode());
        assertEquals(0.0, c.sampling().temperature());
        assertEquals(128, c.sampling().maxTokens());
        assertEquals(8, c.batchSize());
        assertEquals(JobConfig.ErrorPolicy.SKIP, c.errorPolicy());
        assertEquals(ContextOverflowPolicy.ERROR, c.maxContextPolicy());
        assertFalse(c.resume());
        assertEquals(JobConfig.DEFAULT_ENGINE_FACTORY, c.engine().factory());
        assertTrue(c.model().cacheDir().endsWith("herd-model-cache"));
    }

    @Test
    void nestedAndDottedKeysAndTypedOverrides() {
        JobConfig c = JobConfig.parse(MINIMAL + """
                sampling.temperature: 0.7
                sampling: {top_k: 40, stop: ["\\n\\n"]}
                input.options: {mergeSchema: true}
                """, "job.yaml", List.of("batch_size=16", "resume=true", "sampling.seed=123456789012",
                "max_context_policy=truncate_left", "input.options.recursiveFileLookup=true", "output.columns=[a, b]"));
        assertEquals(0.7, c.sampling().temperature());
        assertEquals(40, c.sampling().topK());
        assertEquals(List.of("\n\n"), c.sampling().stop());
        assertEquals(16, c.batchSize());
        assertTrue(c.resume());
        assertEquals(123456789012L, c.sampling().seed());
        assertEquals(ContextOverflowPolicy.TRUNCATE_LEFT, c.maxContextPolicy());
        assertEquals(Map.of("mergeSchema", "true", "recursiveFileLookup", "true"), c.input().options());
        assertEquals(List.of("a", "b"), c.output().columns());
    }

    @Test
    void unknownKeysAreNamedWithASuggestion() {
        ConfigException e = problems(MINIMAL + "sampling: {temprature: 0.5}\nbatchsize: 4\n", "max_contxt_policy=error");
        assertEquals(List.of("unknown key 'sampling.temprature' (did you mean 'sampling.temperature'?)",
                "unknown key 'batchsize' (did you mean 'batch_size'?)",
                "unknown key 'max_contxt_policy' (did you mean 'max_context_policy'?)"), e.problems());
    }

    @Test
    void wrongTypesAndRangesNameTheKey() {
        ConfigException e = problems(MINIMAL + "batch_size: many\nresume: sometimes\nmode: translate\nsampling: {top_p: 1.5}\n",
                "sampling.max_tokens=-1");
        assertTrue(e.problems().contains("batch_size must be an integer, got 'many'"), e.problems().toString());
        assertTrue(e.problems().contains("resume must be true or false, got 'sometimes'"), e.problems().toString());
        assertTrue(e.problems().contains("mode must be one of generate|score|caption, got 'translate'"), e.problems().toString());
        assertTrue(e.problems().contains("sampling.top_p must be in (0, 1], got 1.5"), e.problems().toString());
        assertTrue(e.problems().contains("sampling.max_tokens must be >= 0, got -1"), e.problems().toString());
    }

    @Test
    void requiredKeysAndModeRules() {
        assertEquals(List.of("input.path is required", "output.path is required", "model.path is required",
                "mode generate needs prompt.column or prompt.template"), problems("mode: generate\n").problems());
        ConfigException score = problems(MINIMAL + "mode: score\nsampling: {temperature: 0.5}\n");
        assertTrue(score.problems().contains("mode score needs context.column"), score.problems().toString());
        assertTrue(score.problems().contains("prompt.column does not apply to mode score"), score.problems().toString());
        assertTrue(score.problems().contains("sampling.temperature does not apply to mode score"), score.problems().toString());
        ConfigException caption = problems(MINIMAL.replace("data/in.parquet", "pics/") + "mode: caption\n");
        assertTrue(caption.problems().contains("input.format is not set and cannot be told from 'pics/': set it to parquet, jsonl, csv or images"), caption.problems().toString());
        assertTrue(caption.problems().contains("mode caption needs image.column (or input.format: images)"), caption.problems().toString());
        assertTrue(caption.problems().contains("mode caption needs model.mmproj (the vision projector GGUF)"), caption.problems().toString());
        assertTrue(problems(MINIMAL, "prompt.template=x {y}").problems().contains("set prompt.column or prompt.template, not both"));
        assertTrue(problems(MINIMAL, "input.format=images").problems().contains("input.format images needs mode caption, got mode generate"));
    }

    @Test
    void badYamlAndBadOverridesAreNamed() {
        assertTrue(problems("input: [unclosed").getMessage().startsWith("job.yaml is not valid YAML"));
        assertTrue(problems("- a list\n").getMessage().startsWith("job.yaml must be a YAML map of keys"));
        assertTrue(problems(MINIMAL, "batch_size").problems().contains("override 'batch_size' is not key=value"));
    }

    @Test
    void kvCacheTypeDefaultsToF32AndParsesAnyCase() {
        assertEquals(KvCacheType.F32, JobConfig.parse(MINIMAL, "job.yaml", List.of()).engine().kvCacheType());
        assertEquals(KvCacheType.F16, JobConfig.parse(MINIMAL + "engine: {kv_cache_type: f16}\n", "job.yaml", List.of()).engine().kvCacheType());
        assertEquals(KvCacheType.F16, JobConfig.parse(MINIMAL, "job.yaml", List.of("engine.kv_cache_type=F16")).engine().kvCacheType());
        assertEquals(KvCacheType.F32, JobConfig.parse(MINIMAL + "engine.kv_cache_type: F32\n", "job.yaml", List.of()).engine().kvCacheType());
        JobConfig both = JobConfig.parse(MINIMAL + "engine: {kv_cache_mb: 2048, kv_cache_type: f16}\n", "job.yaml", List.of());
        assertEquals(2048, both.engine().kvCacheMb(), "engine.kv_cache_mb still reads beside it");
        assertEquals(KvCacheType.F16, both.engine().kvCacheType());
    }

    @Test
    void badKvCacheTypeNamesTheKeyAndTheValues() {
        assertEquals(List.of("engine.kv_cache_type must be one of f32|f16, got 'f8'"),
                problems(MINIMAL + "engine: {kv_cache_type: f8}\n").problems());
        assertEquals(List.of("override engine.kv_cache_type must be one of f32|f16, got 'f8'"),
                problems(MINIMAL, "engine.kv_cache_type=f8").problems());
        assertEquals(List.of("engine.kv_cache_type must be one of f32|f16, got 16"),
                problems(MINIMAL + "engine: {kv_cache_type: 16}\n").problems());
    }

    @Test
    void resultKeysCoverWhatChangesARowsResult() {
        JobConfig a = JobConfig.parse(MINIMAL, "job.yaml", List.of("sampling.temperature=0.5"));
        JobConfig b = JobConfig.parse(MINIMAL, "job.yaml", List.of("sampling.temperature=0.5", "batch_size=64", "resume=true"));
        assertEquals(a.resultKeys(), b.resultKeys(), "batching and resume do not change results");
        assertNotEquals(a.resultKeys(), JobConfig.parse(MINIMAL, "job.yaml", List.of("sampling.seed=2")).resultKeys());
        assertEquals(a.resultKeys(), JobConfig.parse(MINIMAL, "job.yaml", List.of("sampling.temperature=0.5", "engine.kv_cache_type=f32")).resultKeys(),
                "f32 is the default: outputs written before the key existed still resume");
        assertEquals("f16", JobConfig.parse(MINIMAL, "job.yaml", List.of("sampling.temperature=0.5", "engine.kv_cache_type=F16"))
                .resultKeys().get("engine.kv_cache_type"), "f16 rounds keys and values: its results differ");
    }
}
