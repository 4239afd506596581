package dev.herd.spark.run;

import dev.herd.spark.config.JobConfig;
import dev.herd.spark.model.EngineSpec;
import dev.herd.spark.model.SerializableConfiguration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.*;

/**
 * Runs a job on the driver: plan and check it, give rows ids, leave out rows already in the
 * output (resume), then process the rest in chunks. Each chunk is one Spark write job appending
 * Parquet files to {@code output.path} through Spark's commit protocol, so a chunk's rows appear
 * all at once or not at all; a job killed midway keeps every chunk it committed, and a re-run
 * with {@code resume: true} does only the rest.
 */
public final class JobRunner {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);

    private JobRunner() {}

    /**
     * @throws dev.herd.spark.config.ConfigException before any executor work, naming what is wrong
     * @throws JobFailedException                     when rows were left undone (the summary says why)
     */
    public static Summary run(SparkSession spark, JobConfig config) {
        long start = System.nanoTime();
        JobPlan plan = JobPlan.create(spark, config);
        String out = plan.outputPath.toString();
        FileSystem fs = fileSystem(spark, plan.outputPath);
        prepareOutput(fs, plan);

        Dataset<Row> todo = RowIds.prepare(plan);
        long alreadyDone = 0;
        if (plan.outputState == JobPlan.OutputState.RESUME && hasData(fs, plan.outputPath)) {
            Dataset<Row> done = spark.read().parquet(out).select(col(OutputSchema.ID).as("__herd_done"));
            alreadyDone = done.count();
            todo = todo.join(done, todo.col(RowIds.ID).equalTo(done.col("__herd_done")), "left_anti");
        }
        // Chunks each select their rows from this; kept on the executors' disks so the input
        // is read once, not once per chunk.
        todo = todo.persist(StorageLevel.DISK_ONLY());
        JobMetrics metrics = JobMetrics.register(spark.sparkContext());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<SerializableConfiguration> hadoopConf = jsc.broadcast(new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
        // What executors need to find, verify and load the model: URIs, sizes, checksums, options. Never weights.
        Broadcast<EngineSpec> engineSpec = jsc.broadcast(plan.engine);
        long rowsToDo = 0;
        int chunks = 0;
        int committed = 0;
        String failure = null;
        Throwable cause = null;
        try {
            rowsToDo = todo.count();
            chunks = (int) Math.max(1, (rowsToDo + config.chunkRows() - 1) / config.chunkRows());
            LOG.info("{} rows to do{}, in {} chunk(s) of about {} rows; output {}", rowsToDo,
                    alreadyDone > 0 ? " (" + alreadyDone + " already in the output)" : "", chunks, (rowsToDo + chunks - 1) / chunks, out);
            for (int c = 0; c < chunks && rowsToDo > 0; c++) {
                runChunk(spark, plan, todo, c, chunks, rowsToDo, metrics, engineSpec, hadoopConf);
                committed++;
                writeText(fs, new Path(plan.outputPath, "_herd/chunks/chunk-" + Instant.now().toEpochMilli() + "-" + (c + 1) + "-of-" + chunks + ".json"),
                        "{\"chunk\": " + (c + 1) + ", \"chunks\": " + chunks + ", \"rows_ok_so_far\": " + metrics.rowsOk()
                                + ", \"rows_failed_so_far\": " + metrics.rowsFailed() + "}\n");
                LOG.info("chunk {}/{} committed: {} rows done so far in this run ({} failed), {} s", c + 1, chunks,
                        metrics.rowsOk() + metrics.rowsFailed(), metrics.rowsFailed(), String.format("%.1f", (System.nanoTime() - start) / 1e9));
                List<String> stops = metrics.stoppedAt();
                if (!stops.isEmpty()) {
                    String[] first = stops.getFirst().split("\t", 2);
                    failure = "row id=" + first[0] + " failed: " + first[1] + " (error_policy: fail). Rows finished before it are committed in "
                            + out + "; fix the row and re-run with resume: true to do the rest";
                    break;
                }
            }
        } catch (Exception e) { // Spark throws SparkException (checked) without declaring it
            failure = "the job stopped after " + committed + " of " + chunks + " chunks: " + JobPlan.firstLine(rootCause(e))
                    + ". Committed chunks stay in " + out + "; re-run with resume: true to do the rest";
            cause = e;
        } finally {
            todo.unpersist();
            hadoopConf.destroy();
            engineSpec.destroy();
        }
        double wall = (System.nanoTime() - start) / 1e9;
        Summary summary = summarize(spark, plan, failure, wall, rowsToDo, alreadyDone, chunks, committed, metrics);
        writeText(fs, new Path(plan.outputPath, "_herd/summary.json"), summary.toJson());
        if (failure != null) throw new JobFailedException(failure, summary, cause);
        return summary;
    }

    private static void runChunk(SparkSession spark, JobPlan plan, Dataset<Row> todo, int chunk, int chunks, long rowsToDo,
                                 JobMetrics metrics, Broadcast<EngineSpec> engineSpec, Broadcast<SerializableConfiguration> hadoopConf) {
        JobConfig config = plan.config;
        Dataset<Row> rows = chunks == 1 ? todo : todo.filter(pmod(xxhash64(col(RowIds.ID)), lit(chunks)).equalTo(chunk));
        long expected = (rowsToDo + chunks - 1) / chunks;
        int slots = config.partitions() > 0 ? config.partitions() : spark.sparkContext().defaultParallelism();
        int partitions = (int) Math.max(1, Math.min(expected, slots));
        String label = "chunk " + (chunk + 1) + "/" + chunks;
        spark.sparkContext().setJobDescription("herd " + config.mode().name().toLowerCase() + " " + label);
        try {
            rows.repartition(partitions, col(RowIds.ID))
                    .mapPartitions(new PartitionRunner(config, engineSpec, hadoopConf, plan.rowPlan, metrics, label), Encoders.row(plan.outputSchema))
                    .write().mode(SaveMode.Append).parquet(plan.outputPath.toString());
        } finally {
            spark.sparkContext().setJobDescription(null);
        }
    }

    private static void prepareOutput(FileSystem fs, JobPlan plan) {
        try {
            if (plan.outputState == JobPlan.OutputState.OVERWRITE) {
                LOG.warn("output.overwrite: deleting {}", plan.outputPath);
                fs.delete(plan.outputPath, true);
            }
            // A job killed mid-chunk leaves task files here; a later chunk's commit would adopt them.
            Path stale = new Path(plan.outputPath, "_temporary");
            if (fs.exists(stale)) {
                LOG.warn("removing {} left by a job that did not finish (its uncommitted rows will be redone)", stale);
                fs.delete(stale, true);
            }
            Path jobFile = new Path(plan.outputPath, JobPlan.JOB_FILE);
            if (!fs.exists(jobFile)) writeText(fs, jobFile, Summary.JSON.writeValueAsString(plan.jobRecord()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot prepare output.path " + plan.outputPath + ": " + e, e);
        }
    }

    private static Summary summarize(SparkSession spark, JobPlan plan, String failure, double wall, long rowsToDo, long alreadyDone,
                                     int chunks, int committed, JobMetrics metrics) {
        JobConfig config = plan.config;
        long completion = metrics.completionTokens();
        long tokens = metrics.promptTokens() + completion;
        long rows = metrics.rowsOk() + metrics.rowsFailed();
        Summary.RunStats run = new Summary.RunStats(rowsToDo, alreadyDone, chunks, committed, metrics.rowsOk(),
                metrics.rowsFailed(), metrics.failedByReason(), metrics.promptTokens(), completion, round(wall),
                round(rows / wall), round(completion / wall), round(tokens / wall));
        Summary.OutputStats output = null;
        try {
            if (hasData(fileSystem(spark, plan.outputPath), plan.outputPath)) output = outputStats(spark, plan.outputPath.toString());
        } catch (RuntimeException e) {
            LOG.warn("cannot count the output for the summary: {}", e.toString());
        }
        return new Summary(failure == null ? "succeeded" : "failed", failure, plan.outputPath.toString(),
                config.mode().name().toLowerCase(), plan.engine.parts().getFirst().uri(), plan.engine.sha256(), run, output);
    }

    /** Exact totals over every committed row (the accumulators may count a retried task twice). */
    static Summary.OutputStats outputStats(SparkSession spark, String path) {
        Dataset<Row> all = spark.read().parquet(path);
        Row totals = all.agg(count(lit(1)), countDistinct(col(OutputSchema.ID)), count(when(col(OutputSchema.ERROR).isNull(), 1))).first();
        Map<String, Long> reasons = new TreeMap<>();
        for (Row r : all.filter(col(OutputSchema.ERROR).isNotNull()).groupBy(expr(ErrorReasons.SQL).as("reason")).count().collectAsList()) {
            reasons.put(r.getString(0), r.getLong(1));
        }
        long rows = totals.getLong(0);
        long ok = totals.getLong(2);
        return new Summary.OutputStats(rows, totals.getLong(1), ok, rows - ok, reasons);
    }

    private static boolean hasData(FileSystem fs, Path dir) {
        try {
            if (!fs.exists(dir)) return false;
            for (var s : fs.listStatus(dir)) if (!JobPlan.hidden(s.getPath().getName())) return true;
            return false;
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir + ": " + e, e);
        }
    }

    private static FileSystem fileSystem(SparkSession spark, Path path) {
        try {
            return path.getFileSystem(spark.sparkContext().hadoopConfiguration());
        } catch (IOException e) {
            throw new IllegalStateException("cannot open the file system of " + path + ": " + e, e);
        }
    }

    private static void writeText(FileSystem fs, Path path, String text) {
        try (OutputStream o = fs.create(path, true)) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + path + ": " + e, e);
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    private static double round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000) / 1000.0 : 0;
    }

    /** For the README's "a few result rows": id, the passthrough columns, the result and the error. */
    public static List<String> showColumns(JobConfig config) {
        Map<String, Boolean> cols = new LinkedHashMap<>();
        cols.put(OutputSchema.ID, true);
        config.output().columns().forEach(c -> cols.put(c, true));
        if (config.mode() == JobConfig.Mode.SCORE) {
            cols.put(OutputSchema.LOGPROB, true);
            cols.put(OutputSchema.IS_GREEDY, true);
        } else {
            cols.put(OutputSchema.GENERATION, true);
            cols.put(OutputSchema.FINISH_REASON, true);
        }
        cols.put(OutputSchema.ERROR, true);
        return List.copyOf(cols.keySet());
    }
}
