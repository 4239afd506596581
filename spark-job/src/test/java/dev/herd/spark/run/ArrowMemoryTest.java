package dev.herd.spark.run;

import dev.herd.spark.testing.Jobs;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Every Arrow buffer a partition allocates is freed, also when a partition stops early. */
class ArrowMemoryTest {
    @TempDir Path tmp;

    @Test
    void noArrowMemoryOutlivesItsPartition() throws Exception {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) rows.add(new Object[]{"m" + i, i == 13 ? null : "some prompt " + i});
        Path in = tmp.resolve("in");
        Jobs.frame(schema, rows.toArray(Object[][]::new)).write().parquet(in.toString());
        Map<String, Object> k = Jobs.base(in, "parquet", tmp.resolve("out"), Jobs.fakeModel(tmp, "m.gguf"), tmp.resolve("cache"));
        k.put("prompt.column", "text");
        k.put("id_column", "id");
        k.put("batch_size", 3);
        k.put("batches_in_flight", 3);
        k.put("logprobs", 2);
        Jobs.run(k);
        awaitNoArrowMemory();
        k.put("output.path", tmp.resolve("out-fail").toString());
        k.put("error_policy", "fail");
        assertThrows(JobFailedException.class, () -> Jobs.run(k));
        awaitNoArrowMemory();
    }

    private static void awaitNoArrowMemory() throws InterruptedException {
        for (int i = 0; i < 50 && ArrowRows.ROOT.getAllocatedMemory() > 0; i++) Thread.sleep(100);
        assertEquals(0, ArrowRows.ROOT.getAllocatedMemory(), ArrowRows.ROOT.toVerboseString());
    }
}
