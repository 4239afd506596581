package dev.herd.spark.run;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reads values out of the engine's Arrow result batches into the Java objects Spark rows hold. */
final class ArrowRows {
    private ArrowRows() {}

    /** One allocator per executor JVM; each partition takes a child of it. */
    static final BufferAllocator ROOT = new RootAllocator();

    static String string(VarCharVector v, int i) {
        return v.isNull(i) ? null : new String(v.get(i), StandardCharsets.UTF_8);
    }

    static Double float8(Float8Vector v, int i) {
        return v.isNull(i) ? null : v.get(i);
    }

    static Boolean bool(BitVector v, int i) {
        return v.isNull(i) ? null : v.get(i) != 0;
    }

    /** Spark rows hold arrays as Scala sequences, not Java lists. */
    private static <T> scala.collection.Seq<T> seq(List<T> list) {
        return scala.jdk.javaapi.CollectionConverters.asScala(list);
    }

    static scala.collection.Seq<Float> floats(ListVector list, int i) {
        if (list.isNull(i)) return null;
        Float4Vector values = (Float4Vector) list.getDataVector();
        List<Float> out = new ArrayList<>();
        for (int j = list.getElementStartIndex(i); j < list.getElementEndIndex(i); j++) out.add(values.get(j));
        return seq(out);
    }

    /** {@code list<struct<token, text, logprob, top: list<struct<token, text, logprob>>>>} as rows. */
    static scala.collection.Seq<Row> logprobs(ListVector list, int i) {
        if (list.isNull(i)) return null;
        StructVector entry = (StructVector) list.getDataVector();
        ListVector top = entry.getChild("top", ListVector.class);
        StructVector alternative = (StructVector) top.getDataVector();
        List<Row> out = new ArrayList<>();
        for (int j = list.getElementStartIndex(i); j < list.getElementEndIndex(i); j++) {
            List<Row> alternatives = new ArrayList<>();
            for (int k = top.getElementStartIndex(j); k < top.getElementEndIndex(j); k++) alternatives.add(tokenRow(alternative, k));
            Row t = tokenRow(entry, j);
            out.add(RowFactory.create(t.get(0), t.get(1), t.get(2), seq(alternatives)));
        }
        return seq(out);
    }

    private static Row tokenRow(StructVector struct, int j) {
        return RowFactory.create(struct.getChild("token", IntVector.class).get(j),
                string(struct.getChild("text", VarCharVector.class), j),
                struct.getChild("logprob", Float4Vector.class).get(j));
    }
}
