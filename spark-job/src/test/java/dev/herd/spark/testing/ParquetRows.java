package dev.herd.spark.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a job's output (id → error, null when the row succeeded) with the plain Parquet reader,
 * so integration tests check the files without starting a SparkSession of their own.
 */
public final class ParquetRows {
    private ParquetRows() {}

    /** Every row's id and error; fails if an id appears twice. */
    public static Map<String, String> errorsById(String dir, Configuration conf) throws IOException {
        Path path = new Path(dir);
        FileSystem fs = path.getFileSystem(conf);
        Map<String, String> rows = new HashMap<>();
        List<Path> files = new ArrayList<>();
        for (FileStatus s : fs.listStatus(path)) {
            String name = s.getPath().getName();
            if (s.isFile() && name.endsWith(".parquet") && !name.startsWith("_") && !name.startsWith(".")) files.add(s.getPath());
        }
        for (Path file : files) {
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), file).withConf(conf).build()) {
                for (Group g; (g = reader.read()) != null; ) {
                    String id = g.getString("id", 0);
                    String error = g.getFieldRepetitionCount("error") == 0 ? null : g.getString("error", 0);
                    if (rows.containsKey(id)) throw new AssertionError("id " + id + " is in the output twice");
                    rows.put(id, error);
                }
            }
        }
        return rows;
    }
}
