package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Test data: a small model with metadata of every kind, and a builder for hand-made (possibly broken) GGUF bytes. */
final class GgufSamples {
    private GgufSamples() {}

    /** Tensors of several types and shapes (none a multiple of 32 bytes in every case), random bytes from {@code seed}. */
    static final Object[][] TENSORS = {
            {"token_embd.weight", GgmlType.F32, new long[]{8, 5}},
            {"blk.0.attn_norm.weight", GgmlType.F32, new long[]{7}},
            {"blk.0.attn_q.weight", GgmlType.F16, new long[]{6, 3}},
            {"blk.0.attn_k.weight", GgmlType.BF16, new long[]{4, 2, 1}},
            {"blk.0.ffn_up_exps.weight", GgmlType.Q8_0, new long[]{64, 2, 3}},
            {"blk.0.ffn_down_exps.weight", GgmlType.Q4_K, new long[]{256, 1, 2}},
            {"blk.0.ffn_gate_exps.weight", GgmlType.Q6_K, new long[]{256, 2}},
            {"blk.0.attn_v.weight", GgmlType.Q4_0, new long[]{32, 3}},
            {"positions", GgmlType.I32, new long[]{5, 1, 1, 2}},
    };

    static GgufWriter sampleModel(long seed) {
        Random r = new Random(seed);
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama4")
                .putUint32("llama4.block_count", 1)
                .putFloat32("llama4.rope.freq_base", 500000f)
                .putBool("llama4.use_kq_norm", true)
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("<s>", "</s>", "a", "b", "\u00e9", ""))
                .putArray("tokenizer.ggml.token_type", GgufArray.ofInt32(3, 3, 1, 1, 1, 1))
                .putArray("tokenizer.ggml.scores", GgufArray.ofFloat32(0f, 0f, -1f, -2f, -3f, -4f))
                .putArray("test.nested", GgufArray.ofArrays(GgufArray.ofInt32(1, 2), GgufArray.ofStrings("x")))
                .putArray("test.empty", GgufArray.ofUint32())
                .put("test.u64", GgufValue.uint64(-1))
                .putString("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}");
        for (Object[] t : TENSORS) {
            GgmlType type = (GgmlType) t[1];
            long[] ne = (long[]) t[2];
            w.addTensor((String) t[0], type, ne, randomBytes(r, bytes(type, ne)));
        }
        return w;
    }

    static long bytes(GgmlType type, long[] ne) {
        long n = 1;
        for (long d : ne) n *= d;
        return n / type.blockSize() * type.blockBytes();
    }

    static byte[] randomBytes(Random r, long n) {
        byte[] b = new byte[Math.toIntExact(n)];
        r.nextBytes(b);
        return b;
    }

    /** Little-endian GGUF bytes put together field by field, so tests can write what no valid writer would. */
    static final class Raw {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Raw u8(int v) { out.write(v); return this; }

        Raw u32(long v) { return put(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v)); }

        Raw u64(long v) { return put(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v)); }

        Raw f32(float v) { return u32(Float.floatToRawIntBits(v)); }

        Raw str(String s) { return bytes(s.getBytes(StandardCharsets.UTF_8)); }

        /** A GGUF string: u64 length, then the bytes. */
        Raw bytes(byte[] b) {
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Raw raw(byte... b) { out.writeBytes(b); return this; }

        /** Magic, version 3, and the two counts. */
        Raw header(long tensors, long kvs) { return raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(3).u64(tensors).u64(kvs); }

        /** A key and a value type id (the caller writes the value). */
        Raw key(String key, GgufValueType type) { return str(key).u32(type.id()); }

        /** A tensor info. */
        Raw tensor(String name, GgmlType type, long offset, long... ne) {
            str(name).u32(ne.length);
            for (long d : ne) u64(d);
            return u32(type.id()).u64(offset);
        }

        /** Zero bytes up to a multiple of {@code align}. */
        Raw pad(int align) {
            while (out.size() % align != 0) out.write(0);
            return this;
        }

        Raw zeros(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        int size() { return out.size(); }

        byte[] toBytes() { return out.toByteArray(); }

        private Raw put(ByteBuffer b) {
            out.writeBytes(b.array());
            return this;
        }
    }
}
