package dev.herd.spark.run;

import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;

/**
 * The job's Spark accumulators (visible in the Spark UI while it runs). Counted from task
 * attempts: a task that Spark retries counts again, so the summary's exact totals come from the
 * committed output instead.
 */
public final class JobMetrics implements Serializable {
    final LongAccumulator rowsOk;
    final LongAccumulator rowsFailed;
    final LongAccumulator promptTokens;
    final LongAccumulator completionTokens;
    final CountsByKeyAccumulator failedByReason;
    /** With error_policy fail: "id\terror" of the row each stopped partition stopped at. */
    final CollectionAccumulator<String> stoppedAt;

    private JobMetrics(SparkContext sc) {
        rowsOk = sc.longAccumulator("herd rows ok");
        rowsFailed = sc.longAccumulator("herd rows failed");
        promptTokens = sc.longAccumulator("herd prompt tokens");
        completionTokens = sc.longAccumulator("herd completion tokens");
        failedByReason = new CountsByKeyAccumulator();
        sc.register(failedByReason, "herd rows failed by reason");
        stoppedAt = sc.collectionAccumulator("herd error_policy=fail stops");
    }

    public static JobMetrics register(SparkContext sc) {
        return new JobMetrics(sc);
    }

    public long rowsOk() { return rowsOk.value(); }
    public long rowsFailed() { return rowsFailed.value(); }
    public long promptTokens() { return promptTokens.value(); }
    public long completionTokens() { return completionTokens.value(); }
    public java.util.Map<String, Long> failedByReason() { return new java.util.TreeMap<>(failedByReason.value()); }
    public java.util.List<String> stoppedAt() { return java.util.List.copyOf(stoppedAt.value()); }
}
