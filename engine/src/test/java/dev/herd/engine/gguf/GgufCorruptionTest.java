package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static dev.herd.engine.gguf.GgufValueType.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Truncated, bit-flipped and hand-crafted hostile files: each must give a {@link GgufFormatException}
 * (or {@link FileNotFoundException}) naming the file and the field within a second, never a crash,
 * an OutOfMemoryError, a StackOverflowError, another RuntimeException, or a hang. A mutation that
 * happens to leave a valid file must open, with every tensor readable.
 */
class GgufCorruptionTest {

    private static final Duration LIMIT = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private byte[] valid;
    private long dataOffset;
    private long lastTensorEnd;

    @BeforeEach
    void writeValidSample() throws IOException {
        Path p = dir.resolve("valid.gguf");
        GgufSamples.sampleModel(42).write(p);
        valid = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            dataOffset = f.dataOffset();
            GgufTensorInfo last = f.tensors().values().stream().reduce((a, b) -> b).orElseThrow();
            lastTensorEnd = f.dataOffset() + last.offset() + last.byteSize();
        }
    }

    // ---- helpers ----

    private Path file(byte[] bytes) throws IOException {
        Path p = dir.resolve("case.gguf");
        Files.write(p, bytes);
        return p;
    }

    /** Opens {@code p} and expects a clean format error that names the file and contains every fragment. */
    private static Exception expectFailure(Path p, String... fragments) {
        Throwable thrown = assertTimeoutPreemptively(LIMIT, () -> {
            try (GgufModel m = GgufModel.open(p)) {
                return (Throwable) null;
            } catch (Throwable t) {
                return t;
            }
        }, () -> "opening " + p + " took over " + LIMIT);
        assertNotNull(thrown, p + " opened but should have failed (expected: " + String.join(", ", fragments) + ")");
        if (!(thrown instanceof GgufFormatException || thrown instanceof FileNotFoundException)) {
            fail("expected a GgufFormatException, got " + thrown, thrown);
        }
        String msg = thrown.getMessage();
        assertTrue(msg.contains(p.toString()), "message does not name the file: " + msg);
        for (String f : fragments) assertTrue(msg.contains(f), "message lacks '" + f + "': " + msg);
        return (Exception) thrown;
    }

    /** Opens {@code p}: it either opens, with metadata and every tensor's bytes readable, or fails cleanly. */
    private static boolean opensOrFailsCleanly(Path p) {
        return assertTimeoutPreemptively(LIMIT, () -> {
            try (GgufModel m = GgufModel.open(p)) {
                m.metadata().asMap().forEach((k, v) -> assertNotNull(v, k));
                for (Tensor t : m.tensors().values()) {
                    long n = t.data().byteSize();
                    if (n > 0) {
                        t.data().get(ValueLayout.JAVA_BYTE, 0);
                        t.data().get(ValueLayout.JAVA_BYTE, n - 1);
                    }
                }
                return true;
            } catch (GgufFormatException | FileNotFoundException e) {
                assertTrue(e.getMessage().contains(p.toString()), "message does not name the file: " + e.getMessage());
                return false;
            }
        }, () -> "opening " + p + " took over " + LIMIT);
    }

    // ---- truncation ----

    @Test
    void truncatedAnywhereInTheHeaderFails() throws IOException {
        assertTrue(dataOffset > 1000, "the sample header is big enough to be interesting: " + dataOffset);
        for (int len = 0; len < dataOffset; len++) {
            expectFailure(file(java.util.Arrays.copyOf(valid, len)));
        }
    }

    @Test
    void truncatedInTheTensorDataFailsUnlessOnlyTrailingPaddingIsCut() throws IOException {
        Random r = new Random(1);
        List<Long> cuts = new ArrayList<>(List.of(dataOffset, dataOffset + 1, lastTensorEnd - 1));
        for (int i = 0; i < 200; i++) cuts.add(dataOffset + (long) (r.nextDouble() * (lastTensorEnd - dataOffset)));
        for (long len : cuts) expectFailure(file(java.util.Arrays.copyOf(valid, (int) len)), "truncated: tensor");
        for (long len = lastTensorEnd; len <= valid.length; len++) {
            assertTrue(opensOrFailsCleanly(file(java.util.Arrays.copyOf(valid, (int) len))), "cut at " + len + " only loses padding");
        }
    }

    // ---- flips and mutations ----

    @Test
    void flippedBitsInTheHeaderOpenOrFailCleanly() throws IOException {
        Random r = new Random(2024);
        int opened = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] b = valid.clone();
            int at = r.nextInt((int) dataOffset);
            b[at] ^= (byte) (1 << r.nextInt(8));
            if (opensOrFailsCleanly(file(b))) opened++;
        }
        // Most flips land in string bytes (token texts), which stay valid; many do not.
        assertTrue(opened > 0 && opened < 3000, "opened " + opened + " of 3000");
    }

    @Test
    void randomMutationsOpenOrFailCleanly() throws IOException {
        // A seeded stand-in for a fuzzer: overwrite bytes, 4- and 8-byte fields with boundary values, cut, duplicate or insert runs.
        long[] interesting = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE, 64, 65, 4096};
        Random r = new Random(7);
        for (int i = 0; i < 3000; i++) {
            byte[] b = valid.clone();
            int edits = 1 + r.nextInt(3);
            for (int e = 0; e < edits; e++) {
                int at = r.nextInt(Math.max(1, Math.min(b.length, (int) dataOffset + 64)));
                switch (r.nextInt(5)) {
                    case 0 -> b[at] = (byte) r.nextInt(256);
                    case 1 -> putLe(b, at, interesting[r.nextInt(interesting.length)], 4);
                    case 2 -> putLe(b, at, interesting[r.nextInt(interesting.length)], 8);
                    case 3 -> b = splice(b, at, r.nextInt(16), new byte[0]);
                    default -> b = splice(b, at, 0, java.util.Arrays.copyOfRange(b, at, Math.min(b.length, at + r.nextInt(16))));
                }
            }
            opensOrFailsCleanly(file(b));
        }
    }

    private static void putLe(byte[] b, int at, long v, int width) {
        for (int k = 0; k < width && at + k < b.length; k++) b[at + k] = (byte) (v >>> (8 * k));
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        remove = Math.min(remove, b.length - at);
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    // ---- crafted values ----

    private record Case(String name, byte[] bytes, String[] fragments) {}

    private static Case c(String name, GgufSamples.Raw raw, String... fragments) {
        return new Case(name, raw.toBytes(), fragments);
    }

    private static GgufSamples.Raw raw() { return new GgufSamples.Raw(); }

    /** One metadata entry; {@code value} writes the type id and value after the key. */
    private static GgufSamples.Raw kv(String key, UnaryOperator<GgufSamples.Raw> value) {
        return value.apply(raw().header(0, 1).str(key));
    }

    /** One F32-ish tensor; {@code info} writes the tensor info, then padding and 4 KiB of data follow. */
    private static GgufSamples.Raw tensor(UnaryOperator<GgufSamples.Raw> info) {
        return info.apply(raw().header(1, 0)).pad(32).zeros(4096);
    }

    private static GgufSamples.Raw nested(int depth) {
        GgufSamples.Raw r = raw().header(0, 1).str("deep").u32(ARRAY.id());
        for (int i = 0; i < depth; i++) r.u32(ARRAY.id()).u64(1);
        return r.u32(INT32.id()).u64(0);
    }

    @TestFactory
    Stream<DynamicTest> craftedHostileValuesFailCleanly() {
        byte[] badUtf8 = {(byte) 0xff, (byte) 0xfe, 'k'};
        List<Case> cases = List.of(
                c("empty file", raw(), "too short for the magic"),
                c("three bytes", raw().raw((byte) 'G', (byte) 'G', (byte) 'U'), "too short for the magic"),
                c("bad magic", raw().raw("GGML".getBytes()).u32(3).u64(0).u64(0), "magic is 'GGML'"),
                c("old GGJT magic", raw().raw("tjgg".getBytes()).u32(3), "pre-GGUF"),
                c("version 0", raw().raw("GGUF".getBytes()).u32(0).u64(0).u64(0), "unsupported GGUF version 0"),
                c("version 1", raw().raw("GGUF".getBytes()).u32(1).u64(0).u64(0), "version 1 is not supported"),
                c("version 4", raw().raw("GGUF".getBytes()).u32(4).u64(0).u64(0), "unsupported GGUF version 4"),
                c("big-endian version 3", raw().raw("GGUF".getBytes()).u32(0x0300_0000).u64(0).u64(0), "big-endian"),
                c("tensor_count 2^62", raw().header(1L << 62, 0), "tensor_count is 4611686018427387904"),
                c("tensor_count -1", raw().header(-1, 0), "tensor_count is 18446744073709551615"),
                c("tensor_count beyond the file", raw().header(1000, 0).zeros(100), "tensor_count declares 1000 entries"),
                c("metadata_kv_count 2^63-1", raw().header(0, Long.MAX_VALUE), "metadata_kv_count is 9223372036854775807"),
                c("metadata_kv_count beyond the file", raw().header(0, 50).zeros(64), "metadata_kv_count declares 50"),
                c("key length 2^63-1", raw().header(0, 1).u64(Long.MAX_VALUE).zeros(16), "metadata key #0", "limit 65535"),
                c("key length -1", raw().header(0, 1).u64(-1).zeros(16), "metadata key #0", "18446744073709551615"),
                c("key past the end", raw().header(0, 1).u64(100).raw("abc".getBytes()).zeros(16), "truncated: metadata key #0"),
                c("empty key", raw().header(0, 1).u64(0).u32(UINT8.id()).u8(1).zeros(8), "metadata key #0 is empty"),
                c("key not UTF-8", raw().header(0, 1).bytes(badUtf8).u32(UINT8.id()).u8(1), "metadata key #0 is not valid UTF-8"),
                c("string value 2^62 bytes", kv("k", r -> r.u32(STRING.id()).u64(1L << 62)), "metadata 'k'", "declares a string of 4611686018427387904 bytes"),
                c("string value past the end", kv("k", r -> r.u32(STRING.id()).u64(1000).raw("abc".getBytes())), "truncated: metadata 'k'"),
                c("string value not UTF-8", kv("k", r -> r.u32(STRING.id()).bytes(new byte[]{(byte) 0xc3})), "metadata 'k' is not valid UTF-8"),
                c("value type 13", kv("k", r -> r.u32(13).u8(0)), "type of metadata 'k' is 13"),
                c("value type -1", kv("k", r -> r.u32(-1).u8(0)), "type of metadata 'k' is 4294967295"),
                c("array element type 99", kv("k", r -> r.u32(ARRAY.id()).u32(99).u64(0)), "metadata 'k' element type is 99"),
                c("array count 2^62", kv("k", r -> r.u32(ARRAY.id()).u32(UINT8.id()).u64(1L << 62)), "metadata 'k' element count is 4611686018427387904"),
                c("array count beyond the file", kv("k", r -> r.u32(ARRAY.id()).u32(INT32.id()).u64(1000).zeros(40)), "metadata 'k' element count declares 1000 entries"),
                c("string array count 2^40", kv("k", r -> r.u32(ARRAY.id()).u32(STRING.id()).u64(1L << 40)), "metadata 'k' element count"),
                c("string array element past the end", kv("k", r -> r.u32(ARRAY.id()).u32(STRING.id()).u64(2).str("a").u64(500)), "truncated: metadata 'k'[1]"),
                c("arrays nested 9 deep", nested(9), "nests arrays deeper than 8"),
                c("arrays nested 100000 deep", nested(100_000), "nests arrays deeper than 8"),
                c("bool 2", kv("k", r -> r.u32(BOOL.id()).u8(2)), "metadata 'k' is a bool with byte value 2"),
                c("bool array with 7", kv("k", r -> r.u32(ARRAY.id()).u32(BOOL.id()).u64(2).u8(1).u8(7)), "metadata 'k'[1] is a bool with byte value 7"),
                c("duplicate key", raw().header(0, 2).str("k").u32(UINT8.id()).u8(1).str("k").u32(UINT8.id()).u8(2), "metadata 'k' appears twice"),
                c("alignment 0", kv("general.alignment", r -> r.u32(UINT32.id()).u32(0)), "general.alignment must be a power of two", "got 0"),
                c("alignment 48", kv("general.alignment", r -> r.u32(UINT32.id()).u32(48)), "general.alignment must be a power of two", "got 48"),
                c("alignment 2^31", kv("general.alignment", r -> r.u32(UINT32.id()).u32(1L << 31)), "general.alignment must be a power of two"),
                c("alignment as uint64", kv("general.alignment", r -> r.u32(UINT64.id()).u64(32)), "general.alignment must be a uint32"),
                c("alignment as string", kv("general.alignment", r -> r.u32(STRING.id()).str("32")), "general.alignment must be a uint32"),
                c("tensor name 65 bytes", tensor(r -> r.tensor("n".repeat(65), GgmlType.F32, 0, 4)), "tensor #0 name", "65 bytes (limit 64)"),
                c("tensor name not UTF-8", tensor(r -> r.bytes(badUtf8).u32(1).u64(4).u32(0).u64(0)), "tensor #0 name is not valid UTF-8"),
                c("n_dims 0", tensor(r -> r.str("t").u32(0).u32(0).u64(0)), "tensor 't' n_dims is 0"),
                c("n_dims 5", tensor(r -> r.tensor("t", GgmlType.F32, 0, 1, 1, 1, 1, 1)), "tensor 't' n_dims is 5"),
                c("n_dims 2^31-1", tensor(r -> r.str("t").u32(Integer.MAX_VALUE).u64(1)), "tensor 't' n_dims is 2147483647"),
                c("n_dims -1", tensor(r -> r.str("t").u32(-1).u64(1)), "tensor 't' n_dims is 4294967295"),
                c("ne negative", tensor(r -> r.tensor("t", GgmlType.F32, 0, 4, Long.MIN_VALUE)), "tensor 't' ne[1] is 9223372036854775808"),
                c("ne product overflows", tensor(r -> r.tensor("t", GgmlType.F32, 0, 1L << 40, 1L << 40)), "tensor 't' has more than 2^63-1 elements"),
                c("byte size overflows", tensor(r -> r.tensor("t", GgmlType.F64, 0, 1L << 31, 1L << 31)), "tensor 't'", "more than 2^63-1 bytes"),
                c("huge but representable tensor", tensor(r -> r.tensor("t", GgmlType.F32, 0, 1L << 20, 1L << 20)), "truncated: tensor 't'"),
                c("row not a multiple of the block", tensor(r -> r.tensor("t", GgmlType.Q8_0, 0, 33)), "tensor 't' row length ne[0] = 33", "block size 32"),
                c("removed type id 4 (Q4_2)", tensor(r -> r.str("t").u32(1).u64(32).u32(4).u64(0)), "tensor 't' type is 4"),
                c("type id 40", tensor(r -> r.str("t").u32(1).u64(32).u32(40).u64(0)), "tensor 't' type is 40"),
                c("type id -1", tensor(r -> r.str("t").u32(1).u64(32).u32(-1).u64(0)), "tensor 't' type is 4294967295"),
                c("misaligned offset", tensor(r -> r.tensor("t", GgmlType.F32, 1, 4)), "tensor 't' has data offset 1, expected 0"),
                c("offset with a gap", tensor(r -> r.tensor("t", GgmlType.F32, 64, 4)), "tensor 't' has data offset 64, expected 0"),
                c("offset 2^62", tensor(r -> r.tensor("t", GgmlType.F32, 1L << 62, 4)), "tensor 't' has data offset 4611686018427387904"),
                c("offset -1", tensor(r -> r.tensor("t", GgmlType.F32, -1, 4)), "tensor 't' data offset 18446744073709551615"),
                c("overlapping tensors", raw().header(2, 0).tensor("a", GgmlType.F32, 0, 4).tensor("b", GgmlType.F32, 0, 4).pad(32).zeros(64),
                        "tensor 'b' has data offset 0, expected 32"),
                c("duplicate tensor name", raw().header(2, 0).tensor("a", GgmlType.F32, 0, 4).tensor("a", GgmlType.F32, 32, 4).pad(32).zeros(64),
                        "tensor name 'a' appears twice"),
                c("tensor data past the end", raw().header(1, 0).tensor("t", GgmlType.F32, 0, 1024).pad(32).zeros(100), "truncated: tensor 't'", "4096 bytes"),
                c("cut inside a tensor info", raw().header(1, 0).str("t").u32(4).u64(4).u64(4).raw((byte) 0, (byte) 0, (byte) 0), "truncated: tensor 't' ne[2]"),
                c("control characters in a name are escaped", tensor(r -> r.str("a\nb").u32(0)), "tensor 'a\\x0ab' n_dims is 0"),
                c("split.count as a string", raw().header(0, 1).str("split.count").u32(STRING.id()).str("3").pad(32), "split.count must be a small non-negative integer"));
        return cases.stream().map(k -> DynamicTest.dynamicTest(k.name(), () -> expectFailure(file(k.bytes()), k.fragments())));
    }

    @Test
    void aDirectoryAndAMissingFileAreNamed() throws IOException {
        Exception e = expectFailure(dir, "is a directory");
        assertInstanceOf(FileNotFoundException.class, e);
        expectFailure(dir.resolve("absent.gguf"), "no such GGUF file");
    }

    @Test
    void theHandCraftedBuilderMakesValidFilesWhenAskedTo() throws IOException {
        // Guards the cases above: the same builder, used correctly, gives a file that opens.
        byte[] ok = raw().header(1, 2).str("general.alignment").u32(UINT32.id()).u32(64)
                .str("k").u32(ARRAY.id()).u32(STRING.id()).u64(2).str("a").str("b")
                .tensor("t", GgmlType.Q8_0, 0, 32, 2).pad(64).zeros(68).toBytes();
        Path p = file(ok);
        try (GgufModel m = GgufModel.open(p)) {
            assertArrayEquals(new String[]{"a", "b"}, m.metadata().stringArray("k"));
            assertEquals(68, m.tensor("t").data().byteSize());
            assertEquals(0, m.parts().getFirst().dataOffset() % 64);
        }
    }
}
