package dev.herd.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Readers for the fixtures' raw files and JSON. */
public final class Goldens {
    private Goldens() {}

    public static final ObjectMapper JSON = new ObjectMapper();

    public static JsonNode json(Path p) throws IOException {
        return JSON.readTree(p.toFile());
    }

    /** A raw little-endian float32 file. */
    public static float[] f32(Path p) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[buf.remaining() / 4];
        buf.asFloatBuffer().get(out);
        return out;
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    /** max |a - b| over equal-length arrays. */
    public static double maxAbsDiff(float[] a, int aOff, float[] b, int bOff, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, Math.abs((double) a[aOff + i] - b[bOff + i]));
        return m;
    }

    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
        return best;
    }
}
