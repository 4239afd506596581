package dev.herd.engine.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Continuous batching: one thread steps the model over every sequence in flight. Each step takes
 * one token from every generating sequence and fills the rest of the step's token budget with
 * prompt chunks (chunked prefill), so new requests join while others decode and leave as soon as
 * they finish. A sequence is admitted when the KV cache can hold all the positions it may reach,
 * so a sequence in flight never runs out of cache.
 */
final class Scheduler implements AutoCloseable {

    /** Most prompt rows producing logits in one step (each costs a vocabulary-sized row of floats). */
    static final int MAX_PREFILL_LOGIT_ROWS = 64;

    private final TextModel model;
    private final KvCache cache;
    private final int maxBatchTokens;
    private final int maxSequences;
    private final LinkedBlockingQueue<Job> submitted = new LinkedBlockingQueue<>();
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private final List<Job> running = new ArrayList<>();
    private final Batch batch = new Batch();
    private final List<Job> rowJobs = new ArrayList<>();
    private final java.util.Set<KvCache.PrefixKey> inProgress = new java.util.HashSet<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile TextModel.RoutingTrace trace;
    final StepStats stats = new StepStats();

    Scheduler(TextModel model, KvCache cache, int maxBatchTokens, int maxSequences) {
        this.model = model;
        this.cache = cache;
        this.maxBatchTokens = maxBatchTokens;
        this.maxSequences = maxSequences;
        this.thread = Thread.ofPlatform().daemon().name("herd-scheduler").start(this::loop);
    }

    void submit(Job job) {
        if (closed) throw new IllegalStateException("the engine is closed");
        submitted.add(job);
    }

    /** Prompt positions served from the prefix cache instead of computed (read from the scheduler thread: approximate elsewhere). */
    long reusedPositions() { return cache.reusedPositions(); }

    /** Routing decisions of every following step go to {@code t} (tests and diagnostics). */
    void trace(TextModel.RoutingTrace t) { this.trace = t; }

    private void loop() {
        try {
            while (!closed) {
                Job next = running.isEmpty() && waiting.isEmpty() ? submitted.poll(50, TimeUnit.MILLISECONDS) : submitted.poll();
                if (next != null) waiting.add(next);
                submitted.drainTo(waiting);
                admit();
                if (!running.isEmpty()) step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            failAll(t);
            throw t;
        }
        failAll(new IllegalStateException("the engine was closed"));
    }

    private void admit() {
        java.util.Iterator<Job> it = waiting.iterator();
        while (it.hasNext() && running.size() < maxSequences) {
            Job job = it.next();
            int positions = job.maxPositions();
            int blocks = KvCache.blocksFor(positions);
            if (blocks > cache.maxBlocks()) {
                it.remove();
                job.fail(new IllegalStateException("the sequence needs " + positions + " positions of KV cache but the budget holds "
                        + cache.maxBlocks() * KvCache.BLOCK + "; raise the KV cache budget or lower max_tokens/context"));
                continue;
            }
            // Only blocks before the first position whose logits are wanted can come from the cache.
            int shareable = job.firstLogitsPosition() / KvCache.BLOCK;
            List<KvCache.PrefixKey> keys = new ArrayList<>();
            KvCache.PrefixKey key = KvCache.PrefixKey.EMPTY, next = null;
            int matched = 0;
            for (int b = 0; b < shareable && job.cacheable(b); b++) {
                next = key.extend(job.tokens, b * KvCache.BLOCK);
                if (!cache.contains(next)) break;
                keys.add(next);
                key = next;
                next = null;
                matched++;
            }
            if (next != null && inProgress.contains(next)) {
                continue; // another sequence is computing this prefix right now: wait and reuse it
            }
            if (blocks - matched > cache.freeBlocks()) return; // waits for running sequences to finish
            it.remove();
            try {
                job.prepare();
            } catch (RuntimeException e) {
                job.fail(e);
                continue;
            }
            job.kv = new SequenceKv(cache);
            for (KvCache.PrefixKey k : keys) job.kv.adopt(cache.lookup(k));
            job.kv.reserve(positions);
            job.fed = matched * KvCache.BLOCK;
            job.cachedBlocks = matched;
            job.cachedKey = matched > 0 ? keys.getLast() : KvCache.PrefixKey.EMPTY;
            markInProgress(job);
            running.add(job);
        }
    }

    /** Records the prefixes a newly admitted sequence will compute, so twins wait for them instead of recomputing. */
    private void markInProgress(Job job) {
        KvCache.PrefixKey key = job.cachedKey;
        for (int b = job.cachedBlocks; b < job.firstLogitsPosition() / KvCache.BLOCK && job.cacheable(b); b++) {
            key = key.extend(job.tokens, b * KvCache.BLOCK);
            inProgress.add(key);
        }
    }

    /** Registers every block a sequence has now fully written, extending its cached prefix. */
    private void registerWrittenBlocks(Job job) {
        while ((job.cachedBlocks + 1) * KvCache.BLOCK <= job.fed && job.cacheable(job.cachedBlocks)) {
            KvCache.PrefixKey key = job.cachedKey.extend(job.tokens, job.cachedBlocks * KvCache.BLOCK);
            cache.register(job.kv.block(job.cachedBlocks), key);
            inProgress.remove(key);
            job.cachedKey = key;
            job.cachedBlocks++;
        }
    }

    private void step() {
        batch.clear();
        rowJobs.clear();
        int budget = maxBatchTokens;
        // Sequences with one token to feed (decoding) first: they are what keeps latency low.
        for (Job job : running) {
            if (budget == 0) break;
            if (job.length - job.fed == 1) budget -= addRows(job, 1);
        }
        // Then prompt chunks, oldest request first, up to the step's token budget; prompts that want
        // logits at every position (scoring, herd logits) are cut so a step's logits stay bounded.
        int logitBudget = MAX_PREFILL_LOGIT_ROWS;
        for (Job job : running) {
            if (budget == 0) break;
            int pending = job.length - job.fed;
            if (pending <= 1) continue;
            int rows = 0;
            while (rows < Math.min(pending, budget)) {
                if (job.wantsLogits(job.fed + rows)) {
                    if (logitBudget == 0) break;
                    logitBudget--;
                }
                rows++;
            }
            if (rows > 0) budget -= addRows(job, rows);
        }
        if (batch.size() == 0) {
            retire();
            return;
        }
        float[] logits;
        int prefillRows = 0;
        for (int row = 0; row < batch.size(); row++) if (rowJobs.get(row).length - rowJobs.get(row).fed > 1) prefillRows++;
        long stepStart = System.nanoTime();
        try {
            logits = model.forward(batch, trace);
            stats.record(batch.size(), prefillRows, System.nanoTime() - stepStart);
        } catch (RuntimeException | Error e) {
            for (Job j : new java.util.LinkedHashSet<>(rowJobs)) {
                j.fail(e);
                j.done = true;
            }
            retire();
            return;
        }
        int vocab = model.vocabSize();
        int logitRow = 0;
        for (int row = 0; row < batch.size(); row++) {
            Job job = rowJobs.get(row);
            job.fed++;
            if (!batch.wantsLogits(row)) continue;
            int off = logitRow++ * vocab;
            if (job.done) continue;
            try {
                job.onLogits(batch.position(row), logits, off, vocab);
            } catch (RuntimeException e) {
                job.fail(e);
                job.done = true;
            }
        }
        retire();
    }

    private int addRows(Job job, int count) {
        for (int i = 0; i < count; i++) {
            int pos = job.fed + i;
            if (job.hasEmbedding(pos)) {
                batch.add(job.tokens[pos], pos, job.kv, job.wantsLogits(pos), job.embeddings, job.embeddingRow[pos] * job.embeddingDim);
            } else {
                batch.add(job.tokens[pos], pos, job.kv, job.wantsLogits(pos), null, 0);
            }
            rowJobs.add(job);
        }
        return count;
    }

    private void retire() {
        running.removeIf(job -> {
            if (!job.done) registerWrittenBlocks(job);
            if (!job.done) return false;
            registerWrittenBlocks(job);
            forgetInProgress(job);
            job.kv.release();
            return true;
        });
    }

    /** A sequence that ends before computing the prefixes it announced releases its claim on them. */
    private void forgetInProgress(Job job) {
        KvCache.PrefixKey key = job.cachedKey;
        for (int b = job.cachedBlocks; b < job.firstLogitsPosition() / KvCache.BLOCK && job.cacheable(b); b++) {
            key = key.extend(job.tokens, b * KvCache.BLOCK);
            inProgress.remove(key);
        }
    }

    private void failAll(Throwable cause) {
        for (Job j : running) {
            j.fail(cause);
            if (j.kv != null) j.kv.release();
        }
        running.clear();
        inProgress.clear();
        waiting.addAll(submitted);
        submitted.clear();
        for (Job j : waiting) j.fail(cause);
        waiting.clear();
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) cache.close();
    }
}
