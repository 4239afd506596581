package dev.herd.spark;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.config.JobConfig;
import dev.herd.spark.run.JobFailedException;
import dev.herd.spark.run.JobRunner;
import dev.herd.spark.run.Summary;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * The Spark application: {@code spark-submit --class dev.herd.spark.HerdJob herd-spark-job.jar
 * job.yaml [key=value …]}. Exit status 0 when every row is done (rows with an {@code error} count
 * as done), 1 when the job stopped early, 2 when the job description is wrong.
 */
public final class HerdJob {
    private HerdJob() {}

    public static void main(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.err.println("usage: spark-submit --class " + HerdJob.class.getName() + " herd-spark-job.jar job.yaml [key=value ...]");
            System.exit(2);
        }
        JobConfig config;
        try {
            config = JobConfig.load(Path.of(args[0]), Arrays.asList(args).subList(1, args.length));
        } catch (ConfigException e) {
            System.err.println("herd: " + e.getMessage());
            System.exit(2);
            return;
        }
        SparkSession spark = SparkSession.builder().appName("herd " + config.mode().name().toLowerCase() + " " + config.input().path()).getOrCreate();
        int status;
        try {
            Summary summary = JobRunner.run(spark, config);
            report(summary);
            if (config.showRows() > 0) show(spark, config, summary.outputPath());
            status = 0;
        } catch (ConfigException e) {
            System.err.println("herd: " + e.getMessage());
            status = 2;
        } catch (JobFailedException e) {
            report(e.summary());
            System.err.println("herd: " + e.getMessage());
            status = 1;
        } finally {
            spark.stop();
        }
        System.exit(status);
    }

    private static void report(Summary summary) {
        System.out.println(summary.toJson());
        System.out.println("herd: " + summary.status() + "; Parquet output in " + summary.outputPath()
                + " (summary: " + summary.outputPath() + "/_herd/summary.json)");
    }

    private static void show(SparkSession spark, JobConfig config, String summaryPath) {
        List<String> columns = JobRunner.showColumns(config);
        spark.read().parquet(summaryPath)
                .select(columns.stream().map(c -> col("`" + c + "`")).toArray(org.apache.spark.sql.Column[]::new))
                .orderBy(col("id"))
                .show(config.showRows(), 60, false);
    }
}
