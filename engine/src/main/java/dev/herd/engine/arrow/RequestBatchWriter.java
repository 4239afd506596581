package dev.herd.engine.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.pojo.Schema;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What the request batch writers share: the batch, its row count, the {@code images} and
 * {@code error} columns every request schema has, and the hand-over. {@link #finish()} hands the
 * batch over; closing an unfinished writer frees it.
 */
abstract class RequestBatchWriter implements AutoCloseable {
    final VectorSchemaRoot root;
    final VarCharVector error;
    private final ListVector images;
    private final VarBinaryVector image;
    int rows;
    private boolean finished;

    RequestBatchWriter(Schema schema, BufferAllocator allocator) {
        root = VectorSchemaRoot.create(schema, allocator);
        root.allocateNew();
        error = (VarCharVector) root.getVector(ArrowBatchSchemas.ERROR);
        images = (ListVector) root.getVector(ArrowBatchSchemas.IMAGES);
        image = (VarBinaryVector) images.getDataVector();
    }

    /** The current row's encoded images (null when there are none). */
    final void writeImages(List<byte[]> rowImages) {
        if (rowImages.isEmpty()) {
            images.setNull(rows);
            return;
        }
        int start = images.startNewValue(rows);
        for (int j = 0; j < rowImages.size(); j++) image.setSafe(start + j, rowImages.get(j));
        images.endValue(rows, rowImages.size());
    }

    public final int rowCount() { return rows; }

    /** The batch, owned by the caller from now on. */
    public final VectorSchemaRoot finish() {
        root.setRowCount(rows);
        finished = true;
        return root;
    }

    @Override
    public final void close() {
        if (!finished) root.close();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
