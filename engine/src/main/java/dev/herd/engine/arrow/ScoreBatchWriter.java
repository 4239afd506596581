package dev.herd.engine.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import static dev.herd.engine.arrow.GenerateBatchWriter.utf8;

/**
 * Appends rows to a score request batch ({@link ArrowBatchSchemas#scoreRequest()}).
 * {@link #finish()} hands the batch over; closing an unfinished writer frees it.
 */
public final class ScoreBatchWriter implements AutoCloseable {
    private final VectorSchemaRoot root;
    private final VarCharVector context;
    private final VarCharVector continuation;
    private final VarCharVector error;
    private int rows;
    private boolean finished;

    public ScoreBatchWriter(BufferAllocator allocator) {
        root = VectorSchemaRoot.create(ArrowBatchSchemas.scoreRequest(), allocator);
        root.allocateNew();
        context = (VarCharVector) root.getVector(ArrowBatchSchemas.CONTEXT);
        continuation = (VarCharVector) root.getVector(ArrowBatchSchemas.CONTINUATION);
        error = (VarCharVector) root.getVector(ArrowBatchSchemas.ERROR);
    }

    public void add(String contextText, String continuationText) {
        context.setSafe(rows, utf8(contextText));
        continuation.setSafe(rows, utf8(continuationText));
        error.setNull(rows);
        rows++;
    }

    /** A row that is not run: its result fails with {@code reason}. */
    public void addFailed(String reason) {
        context.setNull(rows);
        continuation.setNull(rows);
        error.setSafe(rows, utf8(reason));
        rows++;
    }

    public int rowCount() { return rows; }

    /** The batch, owned by the caller from now on. */
    public VectorSchemaRoot finish() {
        root.setRowCount(rows);
        finished = true;
        return root;
    }

    @Override
    public void close() {
        if (!finished) root.close();
    }
}
