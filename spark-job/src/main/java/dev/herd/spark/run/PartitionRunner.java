package dev.herd.spark.run;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.SamplingParams;
import dev.herd.engine.arrow.ArrowBatchEngine;
import dev.herd.engine.arrow.ArrowBatchSchemas;
import dev.herd.engine.arrow.GenerateBatchOptions;
import dev.herd.engine.arrow.GenerateBatchWriter;
import dev.herd.engine.arrow.ScoreBatchOptions;
import dev.herd.engine.arrow.ScoreBatchWriter;
import dev.herd.spark.config.JobConfig;
import dev.herd.spark.model.EngineHolder;
import dev.herd.spark.model.EngineSpec;
import dev.herd.spark.model.SerializableConfiguration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs one partition through the executor's engine. Rows stream: the task reads
 * {@code batch_size} rows, turns them into an Arrow request batch, submits it, and keeps up to
 * {@code batches_in_flight} batches submitted while it hands finished rows to Spark's writer, so
 * the partition is never held whole and the engine always has this task's next rows queued
 * beside those of the executor's other tasks.
 */
public final class PartitionRunner implements MapPartitionsFunction<Row, Row> {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionRunner.class);
    private static final long PROGRESS_EVERY_NANOS = 30_000_000_000L;

    private final JobConfig config;
    private final Broadcast<EngineSpec> spec;
    private final Broadcast<SerializableConfiguration> hadoopConf;
    private final RowPlan plan;
    private final JobMetrics metrics;
    private final String label;

    PartitionRunner(JobConfig config, Broadcast<EngineSpec> spec, Broadcast<SerializableConfiguration> hadoopConf,
                    RowPlan plan, JobMetrics metrics, String label) {
        this.config = config;
        this.spec = spec;
        this.hadoopConf = hadoopConf;
        this.plan = plan;
        this.metrics = metrics;
        this.label = label;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) throws Exception {
        TaskContext task = TaskContext.get();
        String where = label + " partition " + (task == null ? "?" : task.partitionId());
        EngineHolder.Lease lease = EngineHolder.acquire(spec.value(), hadoopConf.value().get());
        Run run = new Run(input, lease, where);
        if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) context -> run.close());
        return run;
    }

    private record InFlight(List<Row> inputs, long[] seeds, CompletableFuture<VectorSchemaRoot> result) {}

    /** The partition's output rows, produced as Spark's writer pulls them. */
    private final class Run implements Iterator<Row>, AutoCloseable {
        private final Iterator<Row> input;
        private final EngineHolder.Lease lease;
        private final String where;
        private final BufferAllocator allocator;
        private final ArrowBatchEngine engine;
        private final ImageReader images;
        private final String modelName;
        private final String modelSha256;
        private final Row samplingTemplate;
        private final GenerateBatchOptions generateOptions;
        private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
        private Iterator<Row> ready = Collections.emptyIterator();
        private boolean stopped;
        private boolean closed;
        private final long start = System.nanoTime();
        private long lastProgress = start;
        private long rows, failed, promptTokens, completionTokens;

        Run(Iterator<Row> input, EngineHolder.Lease lease, String where) {
            this.input = input;
            this.lease = lease;
            this.where = where;
            this.allocator = ArrowRows.ROOT.newChildAllocator(where, 0, Long.MAX_VALUE);
            this.engine = new ArrowBatchEngine(lease.engine(), allocator);
            this.images = new ImageReader(hadoopConf.value().get(), config.image().basePath(), config.image().maxBytes());
            this.modelName = config.model().name() != null ? config.model().name() : lease.engine().modelInfo().name();
            this.modelSha256 = spec.value().sha256();
            JobConfig.Sampling s = config.sampling();
            this.samplingTemplate = RowFactory.create(s.temperature(), s.topK(), s.topP(), s.minP(),
                    s.repetitionPenalty(), s.maxTokens(), s.seed(), 0L);
            this.generateOptions = config.mode() == JobConfig.Mode.SCORE ? null : generateOptions();
        }

        @Override
        public boolean hasNext() {
            if (closed) return false;
            while (!ready.hasNext()) {
                if (stopped) {
                    close();
                    return false;
                }
                fill();
                InFlight head = inFlight.poll();
                if (head == null) {
                    progress(true);
                    close();
                    return false;
                }
                ready = drain(head).iterator();
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new NoSuchElementException();
            return ready.next();
        }

        private void fill() {
            while (inFlight.size() < config.batchesInFlight() && input.hasNext()) inFlight.add(submitNextBatch());
        }

        private InFlight submitNextBatch() {
            List<Row> inputs = new ArrayList<>(config.batchSize());
            long[] seeds = new long[config.batchSize()];
            VectorSchemaRoot requests;
            if (config.mode() == JobConfig.Mode.SCORE) {
                try (ScoreBatchWriter batch = new ScoreBatchWriter(allocator)) {
                    while (inputs.size() < config.batchSize() && input.hasNext()) {
                        Row row = input.next();
                        plan.addScore(row, batch);
                        inputs.add(row);
                    }
                    requests = batch.finish();
                }
                try (requests) {
                    return new InFlight(inputs, seeds, engine.score(requests, new ScoreBatchOptions(config.tokenLogprobs(), config.maxContextPolicy())));
                }
            }
            try (GenerateBatchWriter batch = new GenerateBatchWriter(allocator)) {
                while (inputs.size() < config.batchSize() && input.hasNext()) {
                    Row row = input.next();
                    long seed = RowSeeds.seed(config.sampling().seed(), plan.id(row));
                    plan.addGeneration(row, batch, seed, images);
                    seeds[inputs.size()] = seed;
                    inputs.add(row);
                }
                requests = batch.finish();
            }
            try (requests) {
                return new InFlight(inputs, seeds, engine.generate(requests, generateOptions));
            }
        }

        private GenerateBatchOptions generateOptions() {
            JobConfig.Sampling s = config.sampling();
            SamplingParams params = SamplingParams.GREEDY.withTemperature((float) s.temperature()).withTopK(s.topK())
                    .withTopP((float) s.topP()).withMinP((float) s.minP())
                    .withPenalties((float) s.repetitionPenalty(), 0f, 0f, SamplingParams.GREEDY.penaltyLastN());
            ContextOverflowPolicy overflow = config.maxContextPolicy();
            return new GenerateBatchOptions(params, s.maxTokens(), s.stop(), config.logprobs(), overflow,
                    config.prompt().chat(), config.prompt().parseSpecial(), config.prompt().system());
        }

        private List<Row> drain(InFlight batch) {
            VectorSchemaRoot result;
            try {
                result = batch.result().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(where + " was interrupted", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("the engine failed in " + where + ": " + e.getCause(), e.getCause());
            }
            try (result) {
                VarCharVector error = (VarCharVector) result.getVector(ArrowBatchSchemas.ERROR);
                List<Row> out = new ArrayList<>(batch.inputs().size());
                for (int i = 0; i < batch.inputs().size(); i++) {
                    String rowError = ArrowRows.string(error, i);
                    if (rowError != null && config.errorPolicy() == JobConfig.ErrorPolicy.FAIL) {
                        stopAt(plan.id(batch.inputs().get(i)), rowError);
                        break;
                    }
                    out.add(config.mode() == JobConfig.Mode.SCORE
                            ? scoreRow(batch.inputs().get(i), result, i, rowError)
                            : generationRow(batch.inputs().get(i), batch.seeds()[i], result, i, rowError));
                    count(rowError, result, i);
                }
                progress(false);
                return out;
            }
        }

        private Row generationRow(Row in, long seed, VectorSchemaRoot r, int i, String error) {
            List<Object> values = start(in);
            values.add(ArrowRows.string((VarCharVector) r.getVector(ArrowBatchSchemas.GENERATION), i));
            values.add(ArrowRows.string((VarCharVector) r.getVector(ArrowBatchSchemas.FINISH_REASON), i));
            values.add(((IntVector) r.getVector(ArrowBatchSchemas.PROMPT_TOKENS)).get(i));
            values.add(((IntVector) r.getVector(ArrowBatchSchemas.COMPLETION_TOKENS)).get(i));
            if (config.logprobs() > 0) values.add(ArrowRows.logprobs((ListVector) r.getVector(ArrowBatchSchemas.LOGPROBS), i));
            values.add(((Float8Vector) r.getVector(ArrowBatchSchemas.LATENCY_MS)).get(i));
            values.add(modelName);
            values.add(modelSha256);
            Object[] sampling = new Object[samplingTemplate.size()];
            for (int k = 0; k < sampling.length - 1; k++) sampling[k] = samplingTemplate.get(k);
            sampling[sampling.length - 1] = seed;
            values.add(RowFactory.create(sampling));
            values.add(error);
            return RowFactory.create(values.toArray());
        }

        private Row scoreRow(Row in, VectorSchemaRoot r, int i, String error) {
            List<Object> values = start(in);
            values.add(ArrowRows.float8((Float8Vector) r.getVector(ArrowBatchSchemas.LOGPROB), i));
            values.add(ArrowRows.bool((BitVector) r.getVector(ArrowBatchSchemas.IS_GREEDY), i));
            values.add(((IntVector) r.getVector(ArrowBatchSchemas.PROMPT_TOKENS)).get(i));
            values.add(((IntVector) r.getVector(ArrowBatchSchemas.CONTINUATION_TOKENS)).get(i));
            if (config.tokenLogprobs()) values.add(ArrowRows.floats((ListVector) r.getVector(ArrowBatchSchemas.TOKEN_LOGPROBS), i));
            values.add(((Float8Vector) r.getVector(ArrowBatchSchemas.LATENCY_MS)).get(i));
            values.add(modelName);
            values.add(modelSha256);
            values.add(error);
            return RowFactory.create(values.toArray());
        }

        /** id and the passthrough columns. */
        private List<Object> start(Row in) {
            List<Object> values = new ArrayList<>();
            values.add(plan.id(in));
            for (int index : plan.passthroughIndexes()) values.add(in.get(index));
            return values;
        }

        private void count(String error, VectorSchemaRoot r, int i) {
            int prompt = ((IntVector) r.getVector(ArrowBatchSchemas.PROMPT_TOKENS)).get(i);
            String completionColumn = config.mode() == JobConfig.Mode.SCORE ? ArrowBatchSchemas.CONTINUATION_TOKENS : ArrowBatchSchemas.COMPLETION_TOKENS;
            int completion = ((IntVector) r.getVector(completionColumn)).get(i);
            rows++;
            promptTokens += prompt;
            completionTokens += completion;
            metrics.promptTokens.add(prompt);
            metrics.completionTokens.add(completion);
            if (error == null) {
                metrics.rowsOk.add(1);
            } else {
                failed++;
                metrics.rowsFailed.add(1);
                metrics.failedByReason.add(ErrorReasons.reason(error));
            }
        }

        /** error_policy fail: nothing after this row is run or written; the driver names it. */
        private void stopAt(String id, String error) {
            LOG.error("{}: row id={} failed ({}); error_policy is fail, so the partition stops here", where, id, error);
            metrics.stoppedAt.add(id + "\t" + error);
            stopped = true;
        }


        private void progress(boolean last) {
            long now = System.nanoTime();
            if (!last && now - lastProgress < PROGRESS_EVERY_NANOS) return;
            lastProgress = now;
            double seconds = Math.max((now - start) / 1e9, 1e-9);
            LOG.info("{}{}: {} rows ({} failed), {} prompt + {} completion tokens, {} completion tokens/s, {} rows/s",
                    where, last ? " done" : "", rows, failed, promptTokens, completionTokens,
                    String.format("%.1f", completionTokens / seconds), String.format("%.2f", rows / seconds));
        }

        /** Idempotent: runs at the end of the rows, and again from the task-completion listener. */
        @Override
        public void close() {
            if (closed) return;
            closed = true;
            // Batches still in flight (the task stopped early or failed) are dropped.
            List<CompletableFuture<VectorSchemaRoot>> pending = new ArrayList<>();
            for (InFlight f : inFlight) pending.add(f.result().thenApply(root -> { root.close(); return root; }));
            inFlight.clear();
            // Results still being computed are freed when they arrive; the allocator closes after them.
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
                allocator.close();
                lease.close();
            });
        }
    }
}
