package dev.herd.engine.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Appends rows to a generation request batch ({@link ArrowBatchSchemas#generateRequest()}).
 * {@link #finish()} hands the batch over; closing an unfinished writer frees it.
 */
public final class GenerateBatchWriter implements AutoCloseable {
    private final VectorSchemaRoot root;
    private final VarCharVector prompt;
    private final ListVector messages;
    private final StructVector message;
    private final VarCharVector role;
    private final VarCharVector content;
    private final ListVector images;
    private final VarBinaryVector image;
    private final BigIntVector seed;
    private final VarCharVector error;
    private int rows;
    private boolean finished;

    public GenerateBatchWriter(BufferAllocator allocator) {
        root = VectorSchemaRoot.create(ArrowBatchSchemas.generateRequest(), allocator);
        root.allocateNew();
        prompt = (VarCharVector) root.getVector(ArrowBatchSchemas.PROMPT);
        messages = (ListVector) root.getVector(ArrowBatchSchemas.MESSAGES);
        message = (StructVector) messages.getDataVector();
        role = message.getChild(ArrowBatchSchemas.ROLE, VarCharVector.class);
        content = message.getChild(ArrowBatchSchemas.CONTENT, VarCharVector.class);
        images = (ListVector) root.getVector(ArrowBatchSchemas.IMAGES);
        image = (VarBinaryVector) images.getDataVector();
        seed = (BigIntVector) root.getVector(ArrowBatchSchemas.SEED);
        error = (VarCharVector) root.getVector(ArrowBatchSchemas.ERROR);
    }

    /** A plain text prompt (one user turn when the batch runs with {@code chat}). */
    public void addText(String text, List<byte[]> rowImages, long rowSeed) {
        prompt.setSafe(rows, utf8(text));
        messages.setNull(rows);
        writeImages(rowImages);
        finishRow(rowSeed, null);
    }

    /** A conversation rendered with the model's chat template. */
    public void addChat(List<TextMessage> conversation, List<byte[]> rowImages, long rowSeed) {
        prompt.setNull(rows);
        int start = messages.startNewValue(rows);
        for (int j = 0; j < conversation.size(); j++) {
            message.setIndexDefined(start + j);
            role.setSafe(start + j, utf8(conversation.get(j).role()));
            content.setSafe(start + j, utf8(conversation.get(j).content()));
        }
        messages.endValue(rows, conversation.size());
        writeImages(rowImages);
        finishRow(rowSeed, null);
    }

    /** A row that is not run: its result fails with {@code reason}. */
    public void addFailed(String reason, long rowSeed) {
        prompt.setNull(rows);
        messages.setNull(rows);
        images.setNull(rows);
        finishRow(rowSeed, reason);
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

    private void writeImages(List<byte[]> rowImages) {
        if (rowImages.isEmpty()) {
            images.setNull(rows);
            return;
        }
        int start = images.startNewValue(rows);
        for (int j = 0; j < rowImages.size(); j++) image.setSafe(start + j, rowImages.get(j));
        images.endValue(rows, rowImages.size());
    }

    private void finishRow(long rowSeed, String reason) {
        seed.setSafe(rows, rowSeed);
        if (reason == null) error.setNull(rows);
        else error.setSafe(rows, utf8(reason));
        rows++;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
