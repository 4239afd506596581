package dev.herd.engine.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;

import java.util.List;

/**
 * Appends rows to a generation request batch ({@link ArrowBatchSchemas#generateRequest()}).
 * {@link #finish()} hands the batch over; closing an unfinished writer frees it.
 */
public final class GenerateBatchWriter extends RequestBatchWriter {
    private final VarCharVector prompt;
    private final ListVector messages;
    private final StructVector message;
    private final VarCharVector role;
    private final VarCharVector content;
    private final BigIntVector seed;

    public GenerateBatchWriter(BufferAllocator allocator) {
        super(ArrowBatchSchemas.generateRequest(), allocator);
        prompt = (VarCharVector) root.getVector(ArrowBatchSchemas.PROMPT);
        messages = (ListVector) root.getVector(ArrowBatchSchemas.MESSAGES);
        message = (StructVector) messages.getDataVector();
        role = message.getChild(ArrowBatchSchemas.ROLE, VarCharVector.class);
        content = message.getChild(ArrowBatchSchemas.CONTENT, VarCharVector.class);
        seed = (BigIntVector) root.getVector(ArrowBatchSchemas.SEED);
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
        writeImages(List.of());
        finishRow(rowSeed, reason);
    }

    private void finishRow(long rowSeed, String reason) {
        seed.setSafe(rows, rowSeed);
        if (reason == null) error.setNull(rows);
        else error.setSafe(rows, utf8(reason));
        rows++;
    }
}
