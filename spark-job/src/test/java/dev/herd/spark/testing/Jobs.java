package dev.herd.spark.testing;

import dev.herd.spark.config.JobConfig;
import dev.herd.spark.run.JobRunner;
import dev.herd.spark.run.Summary;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds inputs, a fake model file and job descriptions for the Spark tests. */
public final class Jobs {
    private Jobs() {}

    public static final String FAKE_FACTORY = FakeEngine.Factory.class.getName();

    /** A file that starts like a GGUF model (the fake engine checks the magic), with some bytes after it. */
    public static Path fakeModel(Path dir, String name) {
        try {
            Files.createDirectories(dir);
            byte[] bytes = new byte[4096];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31 + name.hashCode());
            bytes[0] = 'G';
            bytes[1] = 'G';
            bytes[2] = 'U';
            bytes[3] = 'F';
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Dataset<Row> frame(StructType schema, Object[]... rows) {
        List<Row> list = new ArrayList<>();
        for (Object[] r : rows) list.add(RowFactory.create(r));
        return SharedSpark.get().createDataFrame(list, schema);
    }

    /** A job description in YAML from dotted keys (values rendered as YAML flow scalars). */
    public static String yaml(Map<String, Object> keys) {
        StringBuilder y = new StringBuilder();
        keys.forEach((k, v) -> y.append(k).append(": ").append(render(v)).append('\n'));
        return y.toString();
    }

    private static String render(Object v) {
        if (v instanceof List<?> list) return "[" + String.join(", ", list.stream().map(Jobs::render).toList()) + "]";
        if (v instanceof String s) return "'" + s.replace("'", "''") + "'";
        return String.valueOf(v);
    }

    /** The keys every fake-engine job shares. */
    public static Map<String, Object> base(Path input, String format, Path output, Path model, Path cache) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("input.path", input.toString());
        k.put("input.format", format);
        k.put("output.path", output.toString());
        k.put("model.path", model.toString());
        k.put("model.cache_dir", cache.toString());
        k.put("engine.factory", FAKE_FACTORY);
        return k;
    }

    public static Summary run(Map<String, Object> keys, String... overrides) {
        return JobRunner.run(SharedSpark.get(), JobConfig.parse(yaml(keys), "test job", Arrays.asList(overrides)));
    }

    public static JobConfig config(Map<String, Object> keys, String... overrides) {
        return JobConfig.parse(yaml(keys), "test job", Arrays.asList(overrides));
    }

    public static Dataset<Row> output(Path output) {
        return SharedSpark.get().read().parquet(output.toString());
    }

    /** id → the row, for comparing outputs. */
    public static Map<String, Row> byId(Dataset<Row> output) {
        Map<String, Row> m = new LinkedHashMap<>();
        for (Row r : output.collectAsList()) {
            if (m.put(r.getString(r.fieldIndex("id")), r) != null) throw new AssertionError("id " + r.getString(r.fieldIndex("id")) + " is in the output twice");
        }
        return m;
    }
}
