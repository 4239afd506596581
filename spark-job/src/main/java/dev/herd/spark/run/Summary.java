package dev.herd.spark.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.Map;

/**
 * The JSON summary written to {@code <output.path>/_herd/summary.json} at the end of a run.
 *
 * @param status          succeeded or failed
 * @param failure         why the run stopped early, or null
 * @param run             this run: rows and tokens counted by the tasks, wall time, rates
 * @param output          the whole output table after this run, counted from the committed files
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Summary(String status, String failure, String outputPath, String mode, String model,
                      String modelSha256, RunStats run, OutputStats output) {

    /**
     * @param rowsToDo         input rows not yet in the output when this run started
     * @param rowsAlreadyDone  rows that were in the output when this run started (resume)
     * @param chunks           chunks planned; {@code chunksCommitted} of them were committed
     */
    public record RunStats(long rowsToDo, long rowsAlreadyDone, int chunks, int chunksCommitted, long rowsOk,
                           long rowsFailed, Map<String, Long> rowsFailedByReason, long promptTokens,
                           long completionTokens, double wallSeconds, double rowsPerSecond,
                           double completionTokensPerSecond, double tokensPerSecond) {}

    /** @param distinctIds equals {@code rows} unless something wrote a row twice */
    public record OutputStats(long rows, long distinctIds, long rowsOk, long rowsFailed,
                              Map<String, Long> rowsFailedByReason) {}

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a summary is always serialisable", e);
        }
    }
}
