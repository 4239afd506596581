package dev.herd.engine.arrow;

import dev.herd.engine.ChatMessage;
import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.FinishReason;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.SamplingParams;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.TokenLogprob;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.*;

class ArrowBatchEngineTest {
    private final BufferAllocator allocator = new RootAllocator();

    @AfterEach
    void noLeaks() {
        assertEquals(0, allocator.getAllocatedMemory(), "Arrow memory leaked");
        allocator.close();
    }

    /** Echoes the prompt's shape back so the test can see what the engine was given. */
    private static GenerationResult describe(dev.herd.engine.GenerationRequest r) {
        String text = switch (r.prompt()) {
            case Prompt.Text t -> "text[" + t.text() + "|bos=" + t.addBos() + "|special=" + t.parseSpecial() + "|images=" + t.images().size() + "]";
            case Prompt.Chat c -> "chat" + c.messages().stream().map(m -> m.role() + ":" + m.content().stream()
                    .map(p -> p instanceof ChatMessage.Content.Text tx ? tx.text() : "<img " + ((ChatMessage.Content.Image) p).encoded().length + ">")
                    .toList()).toList();
            case Prompt.Tokens t -> "tokens";
        };
        if (text.contains("overflow")) return GenerationResult.failed("prompt of 99 tokens does not fit the context of 64", 99, 1_000);
        List<TokenLogprob> lp = r.logprobs() == 0 ? List.of() : List.of(
                new TokenLogprob(7, "a", -0.5f, List.of(new TokenLogprob.Alternative(7, "a", -0.5f), new TokenLogprob.Alternative(8, "b", -1.5f))),
                new TokenLogprob(9, null, -0.25f, List.of()));
        return new GenerationResult(new int[]{7, 9}, text + "#seed=" + r.sampling().seed(), FinishReason.LENGTH, 5, 2, lp, null, 2_500_000);
    }

    @Test
    void generateBuildsOnePromptPerRowAndWritesResultsInOrder() {
        RecordingEngine engine = new RecordingEngine(ArrowBatchEngineTest::describe, null);
        ArrowBatchEngine batch = new ArrowBatchEngine(engine, allocator);
        byte[] png = {1, 2, 3};
        VectorSchemaRoot requests;
        try (GenerateBatchWriter w = new GenerateBatchWriter(allocator)) {
            w.addText("hello", List.of(), 11);
            w.addFailed("column 'text' is null", 12);
            w.addChat(List.of(new TextMessage("user", "hi"), new TextMessage("assistant", "yo"), new TextMessage("user", "more")), List.of(png), 13);
            w.addText("overflow me", List.of(), 14);
            w.addText("with picture", List.of(png, png), 15);
            requests = w.finish();
        }
        GenerateBatchOptions options = new GenerateBatchOptions(SamplingParams.GREEDY.withTemperature(0.7f), 16, List.of("\n"), 2,
                ContextOverflowPolicy.TRUNCATE_LEFT, false, true, "be brief");
        try (requests; VectorSchemaRoot out = batch.generate(requests, options).join()) {
            assertEquals(5, out.getRowCount());
            assertEquals(4, engine.generations.size(), "the pre-failed row must not reach the engine");
            engine.generations.forEach(g -> {
                assertEquals(0.7f, g.sampling().temperature());
                assertEquals(16, g.maxTokens());
                assertEquals(List.of("\n"), g.stopStrings());
                assertEquals(ContextOverflowPolicy.TRUNCATE_LEFT, g.overflow());
            });
            VarCharVector generation = (VarCharVector) out.getVector("generation");
            VarCharVector error = (VarCharVector) out.getVector("error");
            VarCharVector finish = (VarCharVector) out.getVector("finish_reason");
            assertEquals("text[hello|bos=true|special=true|images=0]#seed=11", str(generation, 0));
            assertTrue(generation.isNull(1));
            assertEquals("column 'text' is null", str(error, 1));
            assertEquals("error", str(finish, 1));
            assertEquals("chat[system:[be brief], user:[<img 3>, hi], assistant:[yo], user:[more]]#seed=13", str(generation, 2));
            assertTrue(generation.isNull(3));
            assertEquals("prompt of 99 tokens does not fit the context of 64", str(error, 3));
            assertEquals(99, ((IntVector) out.getVector("prompt_tokens")).get(3));
            assertEquals("text[with picture|bos=true|special=true|images=2]#seed=15", str(generation, 4));
            assertEquals("length", str(finish, 4));
            assertEquals(5, ((IntVector) out.getVector("prompt_tokens")).get(4));
            assertEquals(2, ((IntVector) out.getVector("completion_tokens")).get(4));
            assertEquals(2.5, ((Float8Vector) out.getVector("latency_ms")).get(4), 1e-9);
            assertTrue(error.isNull(4));

            ListVector logprobs = (ListVector) out.getVector("logprobs");
            assertTrue(logprobs.isNull(1));
            @SuppressWarnings("unchecked")
            List<java.util.Map<String, Object>> row0 = (List<java.util.Map<String, Object>>) logprobs.getObject(0);
            assertEquals(2, row0.size());
            assertEquals(7, row0.get(0).get("token"));
            assertEquals(-0.5f, row0.get(0).get("logprob"));
            assertEquals(2, ((List<?>) row0.get(0).get("top")).size());
            assertNull(row0.get(1).get("text"));
        }
    }

    @Test
    void chatOptionWrapsTextAsOneUserTurn() {
        RecordingEngine engine = new RecordingEngine(ArrowBatchEngineTest::describe, null);
        GenerateBatchOptions chat = new GenerateBatchOptions(SamplingParams.GREEDY, 4, List.of(), 0, ContextOverflowPolicy.ERROR, true, false, null);
        VectorSchemaRoot requests;
        try (GenerateBatchWriter w = new GenerateBatchWriter(allocator)) {
            w.addText("describe", List.of(new byte[]{9}), 1);
            w.addChat(List.of(new TextMessage("assistant", "only me")), List.of(new byte[]{9}), 2);
            requests = w.finish();
        }
        try (requests; VectorSchemaRoot out = new ArrowBatchEngine(engine, allocator).generate(requests, chat).join()) {
            assertNull(out.getVector("logprobs"), "no logprobs column unless asked for");
            assertEquals("chat[user:[<img 1>, describe]]#seed=1", str((VarCharVector) out.getVector("generation"), 0));
            assertEquals("the row has images but no user turn to put them in", str((VarCharVector) out.getVector("error"), 1));
        }
    }

    @Test
    void engineFailureFailsTheBatchFuture() {
        RecordingEngine engine = new RecordingEngine(r -> { throw new IllegalStateException("engine closed"); }, null);
        VectorSchemaRoot requests;
        try (GenerateBatchWriter w = new GenerateBatchWriter(allocator)) {
            w.addText("a", List.of(), 1);
            requests = w.finish();
        }
        try (requests) {
            CompletionException e = assertThrows(CompletionException.class,
                    () -> new ArrowBatchEngine(engine, allocator).generate(requests, GenerateBatchOptions.greedy(4)).join());
            assertEquals("engine closed", e.getCause().getMessage());
        }
    }

    @Test
    void hostBatchesWithOnlySomeColumnsAreAcceptedAndWrongTypesNamed() {
        RecordingEngine engine = new RecordingEngine(ArrowBatchEngineTest::describe, null);
        ArrowBatchEngine batch = new ArrowBatchEngine(engine, allocator);
        Schema minimal = new Schema(List.of(
                new Field("prompt", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
                new Field("seed", FieldType.notNullable(new ArrowType.Int(64, true)), null)));
        try (VectorSchemaRoot root = VectorSchemaRoot.create(minimal, allocator)) {
            root.allocateNew();
            ((VarCharVector) root.getVector("prompt")).setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
            ((BigIntVector) root.getVector("seed")).setSafe(0, 5);
            root.setRowCount(1);
            try (VectorSchemaRoot out = batch.generate(root, GenerateBatchOptions.greedy(2)).join()) {
                assertEquals("text[x|bos=true|special=false|images=0]#seed=5", str((VarCharVector) out.getVector("generation"), 0));
            }
        }
        Schema wrongSeed = new Schema(List.of(
                new Field("prompt", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
                new Field("seed", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
        try (VectorSchemaRoot root = VectorSchemaRoot.create(wrongSeed, allocator)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> batch.generate(root, GenerateBatchOptions.greedy(2)));
            assertTrue(e.getMessage().startsWith("column 'seed' must be BigIntVector"), e.getMessage());
        }
        Schema noPrompt = new Schema(List.of(new Field("seed", FieldType.notNullable(new ArrowType.Int(64, true)), null)));
        try (VectorSchemaRoot root = VectorSchemaRoot.create(noPrompt, allocator)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> batch.generate(root, GenerateBatchOptions.greedy(2)));
            assertTrue(e.getMessage().contains("needs a 'prompt' or a 'messages' column"), e.getMessage());
        }
    }

    @Test
    void scoreWritesSumsGreedinessAndTokenLogprobs() {
        RecordingEngine engine = new RecordingEngine(null, r -> r.continuation().isEmpty()
                ? ScoreResult.failed("continuation is empty", 100)
                : new ScoreResult(-1.25, r.context() instanceof Prompt.Text t && t.text().equals("greedy"), 2, new float[]{-1f, -0.25f}, 3, null, 4_000_000));
        VectorSchemaRoot requests;
        try (ScoreBatchWriter w = new ScoreBatchWriter(allocator)) {
            w.add("greedy", " yes");
            w.add("ctx", "");
            w.addFailed("column 'ctx' is null");
            w.add("other", " no");
            requests = w.finish();
        }
        try (requests; VectorSchemaRoot out = new ArrowBatchEngine(engine, allocator)
                .score(requests, new ScoreBatchOptions(true, ContextOverflowPolicy.ERROR)).join()) {
            assertEquals(3, engine.scores.size());
            assertTrue(engine.scores.getFirst().perTokenLogprobs());
            Float8Vector logprob = (Float8Vector) out.getVector("logprob");
            BitVector greedy = (BitVector) out.getVector("is_greedy");
            VarCharVector error = (VarCharVector) out.getVector("error");
            assertEquals(-1.25, logprob.get(0));
            assertEquals(1, greedy.get(0));
            assertEquals(0, greedy.get(3));
            assertTrue(logprob.isNull(1));
            assertEquals("continuation is empty", str(error, 1));
            assertEquals("column 'ctx' is null", str(error, 2));
            assertEquals(3, ((IntVector) out.getVector("prompt_tokens")).get(0));
            assertEquals(2, ((IntVector) out.getVector("continuation_tokens")).get(0));
            assertEquals(List.of(-1f, -0.25f), ((ListVector) out.getVector("token_logprobs")).getObject(3));
            assertTrue(out.getVector("token_logprobs").isNull(1));
        }
    }

    private static String str(VarCharVector v, int i) {
        return v.isNull(i) ? null : new String(v.get(i), StandardCharsets.UTF_8);
    }

    @Test
    void chatScoringPutsTheImageInTheUserTurnAndScoresAWholeReply() {
        RecordingEngine engine = new RecordingEngine(null, r -> new ScoreResult(-0.5, true, 2, new float[0], 9, null, 1));
        VectorSchemaRoot requests;
        try (ScoreBatchWriter w = new ScoreBatchWriter(allocator)) {
            w.add("What colour is it?", "red", java.util.List.of(new byte[]{7, 8}));
            w.add("Plain context", " text");
            requests = w.finish();
        }
        try (requests; VectorSchemaRoot out = new ArrowBatchEngine(engine, allocator)
                .score(requests, new ScoreBatchOptions(false, ContextOverflowPolicy.ERROR, true)).join()) {
            assertEquals(2, engine.scores.size());
            ScoreRequest first = engine.scores.getFirst();
            assertTrue(first.endOfTurn(), "a chat continuation is the whole reply");
            Prompt.Chat chat = assertInstanceOf(Prompt.Chat.class, first.context());
            assertEquals("user", chat.messages().getFirst().role());
            var parts = chat.messages().getFirst().content();
            assertArrayEquals(new byte[]{7, 8}, assertInstanceOf(ChatMessage.Content.Image.class, parts.get(0)).encoded());
            assertEquals("What colour is it?", assertInstanceOf(ChatMessage.Content.Text.class, parts.get(1)).text());
            assertInstanceOf(Prompt.Chat.class, engine.scores.get(1).context());
        }
    }
}
