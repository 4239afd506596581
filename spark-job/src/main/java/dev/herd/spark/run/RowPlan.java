package dev.herd.spark.run;

import dev.herd.engine.arrow.GenerateBatchWriter;
import dev.herd.engine.arrow.ScoreBatchWriter;
import dev.herd.engine.arrow.TextMessage;
import dev.herd.spark.config.PromptTemplate;
import org.apache.spark.sql.Row;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How an input row (of the job's prepared dataset: row id first, then the columns the job reads)
 * becomes a request row, and which of its columns are passed through to the output. Built and
 * checked on the driver; used by every task.
 *
 * @param promptIndex       text or messages column, or -1
 * @param messages          the prompt column is {@code array<struct<role, content>>}
 * @param template          a prompt template, or null
 * @param templateIndexes   the column index of each template name
 * @param imageIndex        image column, or -1
 * @param imageIsPath       the image column holds a path/URI (else the encoded bytes)
 * @param passthroughIndexes columns copied to the output, in output order
 */
record RowPlan(int promptIndex, String promptColumn, boolean messages, PromptTemplate template,
               Map<String, Integer> templateIndexes, int contextIndex, String contextColumn,
               int continuationIndex, String continuationColumn, int imageIndex, String imageColumn,
               boolean imageIsPath, int[] passthroughIndexes) implements Serializable {

    static final int ID_INDEX = 0;

    String id(Row row) {
        return row.getString(ID_INDEX);
    }

    /** Adds the row to a generation (or caption) batch, as a failed row if it cannot be run. */
    void addGeneration(Row row, GenerateBatchWriter batch, long seed, ImageReader images) {
        try {
            List<byte[]> rowImages = imageIndex < 0 ? List.of() : List.of(image(row, images));
            if (messages) {
                batch.addChat(messages(row), rowImages, seed);
            } else {
                batch.addText(promptText(row, !rowImages.isEmpty()), rowImages, seed);
            }
        } catch (RowException | PromptTemplate.MissingValueException e) {
            batch.addFailed(e.getMessage(), seed);
        }
    }

    void addScore(Row row, ScoreBatchWriter batch) {
        try {
            String context = string(row, contextIndex, contextColumn, true, "context");
            String continuation = string(row, continuationIndex, continuationColumn, false, "continuation");
            batch.add(context, continuation);
        } catch (RowException e) {
            batch.addFailed(e.getMessage());
        }
    }

    private String promptText(Row row, boolean hasImage) {
        if (template != null) {
            String text = template.render(name -> {
                Object v = row.get(templateIndexes.get(name));
                return v == null ? null : v.toString();
            });
            if (text.isEmpty() && !hasImage) throw new RowException("empty prompt: template '" + template + "' rendered nothing");
            return text;
        }
        if (promptIndex < 0) return "";
        // A caption request may pair an image with an empty instruction; a text request may not.
        return string(row, promptIndex, promptColumn, hasImage, "prompt");
    }

    private List<TextMessage> messages(Row row) {
        if (row.isNullAt(promptIndex)) throw new RowException("column '" + promptColumn + "' is null");
        List<Row> list = row.getList(promptIndex);
        if (list.isEmpty()) throw new RowException("empty prompt: column '" + promptColumn + "' has no messages");
        List<TextMessage> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Row m = list.get(i);
            if (m == null || m.isNullAt(m.fieldIndex("role")) || m.isNullAt(m.fieldIndex("content"))) {
                throw new RowException("column '" + promptColumn + "' is null: message " + i + " has no role or content");
            }
            out.add(new TextMessage(m.getString(m.fieldIndex("role")), m.getString(m.fieldIndex("content"))));
        }
        return out;
    }

    private byte[] image(Row row, ImageReader images) {
        if (row.isNullAt(imageIndex)) throw new RowException("column '" + imageColumn + "' is null");
        byte[] bytes = imageIsPath ? images.read(row.getString(imageIndex)) : (byte[]) row.get(imageIndex);
        if (bytes.length == 0) throw new RowException("empty image: column '" + imageColumn + "' has 0 bytes");
        return bytes;
    }

    private static String string(Row row, int index, String column, boolean emptyAllowed, String what) {
        if (row.isNullAt(index)) throw new RowException("column '" + column + "' is null");
        String s = row.getString(index);
        if (s.isEmpty() && !emptyAllowed) throw new RowException("empty " + what + ": column '" + column + "' is empty");
        return s;
    }
}
