package dev.herd.spark.run;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.config.JobConfig;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.BinaryType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.*;

/**
 * Gives every input row a stable id, the key of resume and of the row's seed.
 * <ul>
 *   <li>{@code id_column}: its value as a string; it must be non-null and unique (checked).</li>
 *   <li>a directory of images: the file's URI.</li>
 *   <li>otherwise: 32 hex digits of the SHA-256 of the row's content (all input columns, as
 *       JSON), so the id survives re-reading, re-ordering and re-partitioning the input. Rows
 *       with identical content are numbered ({@code <hash>-1}, {@code <hash>-2}…): they are
 *       indistinguishable, so which one gets which number does not matter.</li>
 * </ul>
 */
final class RowIds {
    private RowIds() {}

    static final String ID = "__herd_id";
    private static final String HASH = "__herd_hash";

    /** The row id, then the job's columns, in {@link JobPlan#columns} order. */
    static Dataset<Row> prepare(JobPlan plan) {
        Dataset<Row> input = plan.input;
        List<Column> columns = new ArrayList<>();
        plan.columns.forEach(c -> columns.add(quoted(c)));
        JobConfig config = plan.config;
        if (config.idColumn() != null) {
            Dataset<Row> withId = input.select(asArray(columnsWithId(quoted(config.idColumn()).cast("string").as(ID), columns)));
            checkUnique(withId, config.idColumn());
            return withId;
        }
        if (config.input().format() == JobConfig.InputFormat.IMAGES) {
            return input.select(asArray(columnsWithId(col("path").as(ID), columns)));
        }
        // Binary columns (encoded images) as base64, which JSON can hold.
        Column content = to_json(struct(Arrays.stream(input.schema().fields())
                .map(f -> f.dataType() instanceof BinaryType ? base64(quoted(f.name())).as(f.name()) : quoted(f.name()))
                .toArray(Column[]::new)));
        Dataset<Row> hashed = input.withColumn(HASH, substring(sha2(content, 256), 1, 32));
        Dataset<Row> duplicated = hashed.groupBy(HASH).count().filter(col("count").gt(1)).select(HASH);
        if (duplicated.isEmpty()) {
            return hashed.select(asArray(columnsWithId(col(HASH).as(ID), columns)));
        }
        Dataset<Row> unique = hashed.join(duplicated, hashed.col(HASH).equalTo(duplicated.col(HASH)), "left_anti")
                .select(asArray(columnsWithId(col(HASH).as(ID), columns)));
        Dataset<Row> numbered = hashed.join(duplicated, HASH)
                .withColumn("__herd_n", row_number().over(Window.partitionBy(HASH).orderBy(HASH)))
                .select(asArray(columnsWithId(concat_ws("-", col(HASH), col("__herd_n").cast("string")).as(ID), columns)));
        return unique.unionAll(numbered);
    }

    private static void checkUnique(Dataset<Row> withId, String idColumn) {
        Row[] bad = (Row[]) withId.groupBy(ID).count().filter(col(ID).isNull().or(col("count").gt(1))).limit(3).collect();
        if (bad.length == 0) return;
        List<String> problems = new ArrayList<>();
        for (Row r : bad) {
            problems.add(r.isNullAt(0)
                    ? "id_column '" + idColumn + "' is null in " + r.getLong(1) + " rows: every row needs an id"
                    : "id_column '" + idColumn + "' is not unique: '" + r.getString(0) + "' appears " + r.getLong(1) + " times");
        }
        throw new ConfigException(problems);
    }

    private static Column[] asArray(List<Column> columns) {
        return columns.toArray(Column[]::new);
    }

    private static List<Column> columnsWithId(Column id, List<Column> columns) {
        List<Column> all = new ArrayList<>();
        all.add(id);
        all.addAll(columns);
        return all;
    }

    static Column quoted(String name) {
        return col("`" + name.replace("`", "``") + "`");
    }
}
