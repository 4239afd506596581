package dev.herd.spark;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.testing.FakeEngine;
import dev.herd.spark.testing.Jobs;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** JSON Lines with chat messages, CSV with a template, images (directory, path and binary columns), scoring, derived ids. */
class InputsTest {
    @TempDir Path tmp;
    Path model;

    @BeforeEach
    void setUp() {
        model = Jobs.fakeModel(tmp.resolve("models"), "m.gguf");
        FakeEngine.reset();
    }

    @Test
    void chatMessagesFromJsonLines() throws IOException {
        Path in = Files.writeString(tmp.resolve("chats.jsonl"), """
                {"q": 1, "messages": [{"role": "user", "content": "hi there"}]}
                {"q": 2, "messages": [{"role": "user", "content": "what is up"}, {"role": "assistant", "content": "not much"}, {"role": "user", "content": "ok"}]}
                {"q": 3, "messages": null}
                {"q": 4, "messages": []}
                """);
        Path out = tmp.resolve("out");
        Map<String, Object> k = Jobs.base(in, "jsonl", out, model, tmp.resolve("cache"));
        k.put("prompt.column", "messages");
        k.put("prompt.chat", true);
        k.put("prompt.system", "be brief");
        k.put("id_column", "q");
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(Set.of("1", "2", "3", "4"), rows.keySet());
        assertNull(rows.get("1").getAs("error"));
        assertNull(rows.get("2").getAs("error"));
        assertEquals("column 'messages' is null", rows.get("3").getAs("error"));
        assertEquals("empty prompt: column 'messages' has no messages", rows.get("4").getAs("error"));
        assertTrue(FakeEngine.PROMPTS.contains("<system>be brief<user>hi there<assistant>"), FakeEngine.PROMPTS.toString());
        assertTrue(FakeEngine.PROMPTS.contains("<system>be brief<user>what is up<assistant>not much<user>ok<assistant>"), FakeEngine.PROMPTS.toString());

        ConfigException noChat = assertThrows(ConfigException.class, () -> Jobs.run(k, "prompt.chat=false", "prompt.system=null", "output.overwrite=true"));
        assertTrue(noChat.getMessage().contains("prompt.column 'messages' holds chat messages: set prompt.chat: true"), noChat.getMessage());
    }

    @Test
    void csvWithATemplateAndDerivedIds() throws IOException {
        Path in = Files.writeString(tmp.resolve("notes.csv"), """
                title,body
                Cats,They purr
                Dogs,
                "Fish, big",They swim
                """);
        Path out = tmp.resolve("out");
        Map<String, Object> k = Jobs.base(in, "csv", out, model, tmp.resolve("cache"));
        k.put("prompt.template", "Title: {title}. {body} {{literal}}");
        k.put("output.columns", List.of("title"));
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(3, rows.size());
        assertTrue(rows.keySet().stream().allMatch(id -> id.matches("[0-9a-f]{32}")), rows.keySet().toString());
        Row dogs = rows.values().stream().filter(r -> "Dogs".equals(r.getAs("title"))).findFirst().orElseThrow();
        assertEquals("column 'body' is null", dogs.getAs("error"));
        assertTrue(FakeEngine.PROMPTS.contains("Title: Fish, big. They swim {literal}"), FakeEngine.PROMPTS.toString());
    }

    @Test
    void derivedIdsSurviveReorderingAndNumberIdenticalRows() {
        StructType schema = new StructType().add("text", DataTypes.StringType).add("n", DataTypes.IntegerType).add("blob", DataTypes.BinaryType);
        Object[][] rows = {{"same", 1, new byte[]{1}}, {"same", 1, new byte[]{1}}, {"other", 1, new byte[]{1}}, {"same", 2, new byte[]{1}}, {null, 3, null}};
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Jobs.frame(schema, rows).coalesce(1).write().parquet(a.toString());
        Object[][] reversed = {rows[4], rows[3], rows[2], rows[1], rows[0]};
        Jobs.frame(schema, reversed).repartition(3).write().parquet(b.toString());
        Map<String, Object> k = Jobs.base(a, "parquet", tmp.resolve("out-a"), model, tmp.resolve("cache"));
        k.put("prompt.column", "text");
        k.put("sampling.temperature", 1.0);
        Jobs.run(k);
        k.put("input.path", b.toString());
        k.put("output.path", tmp.resolve("out-b").toString());
        Jobs.run(k);
        Map<String, Row> outA = Jobs.byId(Jobs.output(tmp.resolve("out-a")));
        Map<String, Row> outB = Jobs.byId(Jobs.output(tmp.resolve("out-b")));
        assertEquals(5, outA.size());
        assertEquals(outA.keySet(), outB.keySet());
        Set<String> duplicates = outA.keySet().stream().filter(id -> id.contains("-")).collect(Collectors.toSet());
        assertEquals(2, duplicates.size(), outA.keySet().toString());
        assertEquals(1, duplicates.stream().map(id -> id.substring(0, 32)).distinct().count());
        Set<Long> seeds = outA.values().stream().map(r -> ((Row) r.getAs("sampling")).getLong(7)).collect(Collectors.toSet());
        assertEquals(5, seeds.size(), "identical rows still get their own seeds");
        for (String id : outA.keySet()) assertEquals((String) outA.get(id).getAs("generation"), outB.get(id).getAs("generation"));
    }

    @Test
    void captionADirectoryOfImages() throws IOException {
        Path images = Files.createDirectories(tmp.resolve("images"));
        png(images.resolve("red.png"), 0xff0000);
        png(images.resolve("blue.png"), 0x0000ff);
        Files.write(images.resolve("broken.png"), new byte[]{1, 2, 3, 4, 5});
        Path out = tmp.resolve("out");
        Map<String, Object> k = Jobs.base(images, "images", out, model, tmp.resolve("cache"));
        k.put("mode", "caption");
        k.put("model.mmproj", Jobs.fakeModel(tmp.resolve("models"), "mmproj.gguf").toString());
        k.put("prompt.template", "Describe the picture.");
        k.put("prompt.chat", true);
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(3, rows.size());
        Map<String, String> errorByFile = rows.entrySet().stream().collect(Collectors.toMap(
                e -> e.getKey().substring(e.getKey().lastIndexOf('/') + 1), e -> String.valueOf((Object) e.getValue().getAs("error"))));
        assertEquals(Map.of("red.png", "null", "blue.png", "null", "broken.png", "undecodable image: not a PNG/JPEG"), errorByFile);
        assertTrue(rows.keySet().stream().allMatch(id -> id.startsWith("file:")), rows.keySet().toString());
        assertEquals(2, FakeEngine.PROMPTS.stream().filter(p -> p.equals("<user><image>Describe the picture.<assistant> [images=1]")).count(),
                FakeEngine.PROMPTS.toString());
    }

    @Test
    void captionFromPathAndBinaryColumns() throws IOException {
        Path red = png(tmp.resolve("red.png"), 0xff0000);
        StructType schema = new StructType().add("id", DataTypes.StringType).add("img", DataTypes.StringType).add("q", DataTypes.StringType);
        Path in = tmp.resolve("paths");
        Jobs.frame(schema, new Object[]{"ok", red.toUri().toString(), "What colour?"},
                new Object[]{"relative", "red.png", "What colour?"},
                new Object[]{"missing", tmp.resolve("nope.png").toString(), "What colour?"},
                new Object[]{"null", null, "What colour?"}).write().parquet(in.toString());
        Path out = tmp.resolve("out");
        Map<String, Object> k = Jobs.base(in, "parquet", out, model, tmp.resolve("cache"));
        k.put("mode", "caption");
        k.put("model.mmproj", Jobs.fakeModel(tmp.resolve("models"), "mmproj.gguf").toString());
        k.put("image.column", "img");
        k.put("image.base_path", tmp.toUri().toString());
        k.put("prompt.column", "q");
        k.put("id_column", "id");
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertNull(rows.get("ok").getAs("error"));
        assertNull(rows.get("relative").getAs("error"));
        assertTrue(((String) rows.get("missing").getAs("error")).startsWith("unreadable image: "), (String) rows.get("missing").getAs("error"));
        assertEquals("column 'img' is null", rows.get("null").getAs("error"));
        assertTrue(FakeEngine.PROMPTS.contains("What colour? [images=1]"), FakeEngine.PROMPTS.toString());

        StructType binary = new StructType().add("id", DataTypes.StringType).add("bytes", DataTypes.BinaryType);
        Path binIn = tmp.resolve("binary");
        Jobs.frame(binary, new Object[]{"ok", Files.readAllBytes(red)}, new Object[]{"empty", new byte[0]}).write().parquet(binIn.toString());
        k.put("input.path", binIn.toString());
        k.put("output.path", tmp.resolve("out-binary").toString());
        k.put("image.column", "bytes");
        k.remove("image.base_path");
        k.remove("prompt.column");
        Jobs.run(k);
        Map<String, Row> binRows = Jobs.byId(Jobs.output(tmp.resolve("out-binary")));
        assertNull(binRows.get("ok").getAs("error"));
        assertEquals("empty image: column 'bytes' has 0 bytes", binRows.get("empty").getAs("error"));
    }

    @Test
    void scoreContinuations() {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("ctx", DataTypes.StringType).add("cont", DataTypes.StringType);
        Path in = tmp.resolve("pairs");
        Jobs.frame(schema, new Object[]{"a", "Is the sky blue?", " yes it is"}, new Object[]{"b", "Q:", " no"},
                new Object[]{"c", null, " x"}, new Object[]{"d", "Q:", ""}).write().parquet(in.toString());
        Path out = tmp.resolve("out");
        Map<String, Object> k = Jobs.base(in, "parquet", out, model, tmp.resolve("cache"));
        k.put("mode", "score");
        k.put("context.column", "ctx");
        k.put("continuation.column", "cont");
        k.put("token_logprobs", true);
        k.put("id_column", "id");
        Jobs.run(k);
        assertEquals(List.of("id", "logprob", "is_greedy", "prompt_tokens", "continuation_tokens", "token_logprobs",
                "latency_ms", "model", "model_sha256", "error"), Arrays.asList(Jobs.output(out).columns()));
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(-1.5, (double) rows.get("a").getAs("logprob"), 1e-9);
        assertEquals(true, rows.get("a").getAs("is_greedy"));
        assertEquals(3, (int) rows.get("a").getAs("continuation_tokens"));
        assertEquals(5, (int) rows.get("a").getAs("prompt_tokens"));
        assertEquals(List.of(-0.25f, -0.5f, -0.75f), rows.get("a").getList(rows.get("a").fieldIndex("token_logprobs")));
        assertEquals(false, rows.get("b").getAs("is_greedy"));
        assertEquals("column 'ctx' is null", rows.get("c").getAs("error"));
        assertNull(rows.get("c").getAs("logprob"));
        assertEquals("empty continuation: column 'cont' is empty", rows.get("d").getAs("error"));
    }

    private static Path png(Path file, int rgb) throws IOException {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) image.setRGB(x, y, rgb);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return Files.write(file, bytes.toByteArray());
    }
}
