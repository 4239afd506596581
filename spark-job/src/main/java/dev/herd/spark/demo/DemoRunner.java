package dev.herd.spark.demo;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.config.JobConfig;
import dev.herd.spark.run.JobFailedException;
import dev.herd.spark.run.JobRunner;
import dev.herd.spark.run.Summary;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.apache.spark.sql.functions.col;

/**
 * The README's main command ({@code bin/demo}): three herd jobs on the bundled demo model in one
 * Spark application — caption the sample images, answer the sample questions, score the
 * multiple-choice set — then a few rows of each and the accuracy against the known answers.
 *
 * <p>Usage: {@code DemoRunner captions.yaml questions.yaml choices.yaml [key=value …]} (the
 * overrides apply to all three).
 */
public final class DemoRunner {
    private DemoRunner() {}

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: DemoRunner captions.yaml questions.yaml choices.yaml [key=value ...]");
            System.exit(2);
        }
        List<String> overrides = List.of(args).subList(3, args.length);
        List<JobConfig> configs = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) configs.add(JobConfig.load(Path.of(args[i]), overrides));
        } catch (ConfigException e) {
            System.err.println("herd demo: " + e.getMessage());
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("herd demo").getOrCreate();
        int status = 0;
        try {
            Summary captions = run(spark, configs.get(0));
            Summary questions = run(spark, configs.get(1));
            Summary choices = run(spark, configs.get(2));
            System.out.println();
            reportCaptions(spark.read().parquet(captions.outputPath()));
            reportQuestions(spark.read().parquet(questions.outputPath()));
            reportChoices(spark.read().parquet(choices.outputPath()));
            System.out.println("herd demo: Parquet output in " + captions.outputPath() + ", " + questions.outputPath() + " and " + choices.outputPath());
        } catch (JobFailedException e) {
            System.err.println("herd demo: " + e.getMessage());
            status = 1;
        } catch (ConfigException e) {
            System.err.println("herd demo: " + e.getMessage());
            status = 2;
        } finally {
            spark.stop();
        }
        System.exit(status);
    }

    private static Summary run(SparkSession spark, JobConfig config) {
        Summary s = JobRunner.run(spark, config);
        Summary.RunStats r = s.run();
        System.out.printf(Locale.ROOT, "herd: %s job %s: %d rows ok, %d failed, %.1f s, %.1f rows/s, %.1f tokens/s -> %s%n",
                s.mode(), s.status(), r.rowsOk(), r.rowsFailed(), r.wallSeconds(), r.rowsPerSecond(), r.tokensPerSecond(), s.outputPath());
        return s;
    }

    private static void reportCaptions(Dataset<Row> out) {
        System.out.println("Captions (held-out images the model never saw):");
        out.select(col("id"), col("answer").as("expected"), col("generation")).orderBy("id").show(5, 70, false);
        int exact = 0, attributes = 0, attributesRight = 0, rows = 0;
        for (Row r : out.select("answer", "generation").collectAsList()) {
            rows++;
            String expected = r.getString(0), got = r.isNullAt(1) ? "" : r.getString(1);
            if (expected.equals(got)) exact++;
            int[] a = CaptionAttributes.compare(expected, got);
            attributesRight += a[0];
            attributes += a[1];
        }
        System.out.printf(Locale.ROOT, "caption attribute accuracy %.1f%% (%d/%d: count, then each shape's kind and colour, left to right); exact captions %d/%d%n%n",
                100.0 * attributesRight / attributes, attributesRight, attributes, exact, rows);
    }

    private static void reportQuestions(Dataset<Row> out) {
        System.out.println("Questions:");
        out.select(col("id"), col("question"), col("answer").as("expected"), col("generation")).orderBy("id").show(6, 40, false);
        List<Row> rows = out.select("answer", "generation").collectAsList();
        long right = rows.stream().filter(r -> !r.isNullAt(1) && r.getString(0).equals(r.getString(1))).count();
        System.out.printf(Locale.ROOT, "question accuracy %.1f%% (%d/%d)%n%n", 100.0 * right / rows.size(), right, rows.size());
    }

    private static void reportChoices(Dataset<Row> out) {
        System.out.println("Multiple choice (each choice's log-likelihood as the assistant's whole reply):");
        out.select(col("item"), col("choice"), col("logprob")).orderBy("item", "choice_index").show(8, 40, false);
        java.util.Map<String, double[]> best = new java.util.TreeMap<>(); // item -> {best logprob, chosen, answer}
        for (Row r : out.select("item", "choice_index", "answer_index", "logprob").collectAsList()) {
            if (r.isNullAt(3)) continue;
            double[] b = best.computeIfAbsent(r.getString(0), k -> new double[]{Double.NEGATIVE_INFINITY, -1, r.getInt(2)});
            if (r.getDouble(3) > b[0]) {
                b[0] = r.getDouble(3);
                b[1] = r.getInt(1);
            }
        }
        long right = best.values().stream().filter(b -> b[1] == b[2]).count();
        System.out.printf(Locale.ROOT, "multiple-choice accuracy %.1f%% (%d/%d)%n%n", 100.0 * right / best.size(), right, best.size());
    }

    /** Scores a caption like "a red circle, a blue square and an orange star" attribute by attribute. */
    static final class CaptionAttributes {
        private static final Pattern SHAPE = Pattern.compile("an? (\\w+) (\\w+)");

        /** {right, total}: the shape count, then each expected shape's colour and kind at its position. */
        static int[] compare(String expected, String got) {
            List<String[]> want = parse(expected), have = parse(got);
            int right = want.size() == have.size() ? 1 : 0, total = 1 + 2 * want.size();
            for (int i = 0; i < Math.min(want.size(), have.size()); i++) {
                if (want.get(i)[0].equals(have.get(i)[0])) right++;
                if (want.get(i)[1].equals(have.get(i)[1])) right++;
            }
            return new int[]{right, total};
        }

        static List<String[]> parse(String caption) {
            List<String[]> shapes = new ArrayList<>();
            Matcher m = SHAPE.matcher(caption);
            while (m.find()) shapes.add(new String[]{m.group(1), m.group(2)});
            return shapes;
        }
    }
}
