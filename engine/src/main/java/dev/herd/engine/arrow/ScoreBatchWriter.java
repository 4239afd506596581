package dev.herd.engine.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VarCharVector;

import java.util.List;

/**
 * Appends rows to a score request batch ({@link ArrowBatchSchemas#scoreRequest()}).
 * {@link #finish()} hands the batch over; closing an unfinished writer frees it.
 */
public final class ScoreBatchWriter extends RequestBatchWriter {
    private final VarCharVector context;
    private final VarCharVector continuation;

    public ScoreBatchWriter(BufferAllocator allocator) {
        super(ArrowBatchSchemas.scoreRequest(), allocator);
        context = (VarCharVector) root.getVector(ArrowBatchSchemas.CONTEXT);
        continuation = (VarCharVector) root.getVector(ArrowBatchSchemas.CONTINUATION);
    }

    public void add(String contextText, String continuationText) {
        add(contextText, continuationText, List.of());
    }

    /** A row whose context comes with encoded images (placed before the context's text). */
    public void add(String contextText, String continuationText, List<byte[]> rowImages) {
        context.setSafe(rows, utf8(contextText));
        continuation.setSafe(rows, utf8(continuationText));
        writeImages(rowImages);
        error.setNull(rows);
        rows++;
    }

    /** A row that is not run: its result fails with {@code reason}. */
    public void addFailed(String reason) {
        context.setNull(rows);
        continuation.setNull(rows);
        writeImages(List.of());
        error.setSafe(rows, utf8(reason));
        rows++;
    }
}
