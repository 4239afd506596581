package dev.herd.spark;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.model.EngineHolder;
import dev.herd.spark.testing.Jobs;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Wrong jobs fail on the driver, before any engine is built, with messages naming keys and columns. */
class ValidationTest {
    @TempDir Path tmp;
    Path model;
    Path in;

    @BeforeEach
    void setUp() {
        model = Jobs.fakeModel(tmp.resolve("models"), "m.gguf");
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType)
                .add("n", DataTypes.IntegerType).add("error", DataTypes.StringType);
        in = tmp.resolve("in");
        Jobs.frame(schema, new Object[]{"a", "x", 1, null}, new Object[]{"a", "y", 2, null}, new Object[]{"b", "z", 3, null})
                .write().parquet(in.toString());
    }

    private List<String> problems(String... overrides) {
        Map<String, Object> k = Jobs.base(in, "parquet", tmp.resolve("out"), model, tmp.resolve("cache"));
        k.put("prompt.column", "text");
        int loads = EngineHolder.loads();
        ConfigException e = assertThrows(ConfigException.class, () -> Jobs.run(k, overrides));
        assertEquals(loads, EngineHolder.loads(), "no engine is built for a job that cannot run");
        return e.problems();
    }

    @Test
    void columnsAreCheckedAndNamed() {
        assertEquals(List.of(
                "prompt.column: the input has no column 'Text' (did you mean 'text'? names are case-sensitive); its columns are [id, text, n, error]",
                "output.columns: the input has no column 'topic'; its columns are [id, text, n, error]",
                "output.columns: 'error' is a column herd writes itself; rename it in the input"),
                problems("prompt.column=Text", "output.columns=[topic, error]"));
        assertEquals(List.of("prompt.column 'n' has type int; expected string, or array<struct<role: string, content: string>> for chat messages"),
                problems("prompt.column=n"));
        assertEquals(List.of("prompt.template: the input has no column 'body'; its columns are [id, text, n, error]"),
                problems("prompt.column=null", "prompt.template=Say {text} {body}"));
    }

    @Test
    void filesAreCheckedAndNamed() {
        List<String> p = problems("input.path=" + tmp.resolve("nothing-here"), "model.path=" + tmp.resolve("none.gguf"),
                "model.mmproj=" + tmp.resolve("models"), "mode=caption", "image.column=text");
        assertTrue(p.contains("input.path: nothing at '" + tmp.resolve("nothing-here") + "'"), p.toString());
        assertTrue(p.contains("model.path: no file at '" + tmp.resolve("none.gguf") + "'"), p.toString());
        assertTrue(p.contains("model.mmproj: '" + tmp.resolve("models") + "' is a directory; name the .gguf file"), p.toString());
        assertEquals(List.of("model.path: part 2 of the split model is missing: file:" + tmp.resolve("models/big-00002-of-00002.gguf")),
                problems("model.path=" + Jobs.fakeModel(tmp.resolve("models"), "big-00001-of-00002.gguf")));
    }

    @Test
    void idsMustBeUniqueAndPresent() {
        assertEquals(List.of("id_column 'id' is not unique: 'a' appears 2 times"), problems("id_column=id"));
    }

    @Test
    void existingOutputNeedsResumeOrOverwrite() throws Exception {
        Files.createDirectories(tmp.resolve("out"));
        Files.writeString(tmp.resolve("out/part-0.parquet"), "not ours");
        assertEquals(List.of("output.path: 'file:" + tmp.resolve("out") + "' already holds results (1 files): set resume: true to finish that job, or output.overwrite: true to replace it"),
                problems());
    }
}
