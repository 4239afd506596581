package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Files past 4 GiB, made sparse so they take no disk space: offsets are 64-bit throughout, the
 * mapping covers the whole file, and nothing on the heap grows with the file.
 */
class GgufLargeFileTest {

    private static final long FOUR_GIB = 1L << 32;

    @TempDir
    Path dir;

    @Test
    void aTensorPastFourGibReadsBackThroughTheMapping() throws IOException {
        long[] bigShape = {4096, 262_400}; // 4.0039 GiB of F32 zeros, written as a hole
        float[] tail = new float[1024];
        for (int i = 0; i < tail.length; i++) tail[i] = i * 0.25f - 100f;
        ByteBuffer tailBytes = ByteBuffer.allocate(tail.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : tail) tailBytes.putFloat(v);

        Path p = dir.resolve("large.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama4")
                .addZeroTensor("big", GgmlType.F32, bigShape)
                .addTensor("tail", GgmlType.F32, new long[]{tail.length}, tailBytes.array())
                .write(p);
        assertTrue(Files.size(p) > FOUR_GIB + 4096, "file is " + Files.size(p) + " bytes");

        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        try (GgufModel m = GgufModel.open(p)) {
            GgufFile f = m.parts().getFirst();
            GgufTensorInfo info = f.tensors().get("tail");
            assertTrue(f.dataOffset() + info.offset() > FOUR_GIB, "tail starts at file offset " + (f.dataOffset() + info.offset()));
            assertEquals(f.fileSize(), f.dataOffset() + info.offset() + info.byteSize(), "tail is the last thing in the file");

            Tensor t = m.tensor("tail");
            for (int i = 0; i < tail.length; i++) {
                assertEquals(tail[i], t.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i), "tail[" + i + "]");
            }
            assertArrayEquals(tail, t.row(0, new float[tail.length]));

            Tensor big = m.tensor("big");
            assertEquals(4096L * 262_400 * 4, big.data().byteSize());
            float[] row = new float[4096];
            for (long r : new long[]{0, 131_072, big.rows() - 1}) { // row 131072 starts at exactly 2 GiB into the tensor
                java.util.Arrays.fill(row, Float.NaN);
                big.row(r, row);
                for (float v : row) assertEquals(0f, v, "big row " + r);
            }
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        assertTrue(allocated < (32 << 20), "opening and reading a 4 GiB file allocated " + allocated + " heap bytes");
    }

    @Test
    void metadataBackedByRealBytesStillStopsAtTheHeapLimit() throws IOException {
        // A uint8 array of 2^30 elements, each a real (zero) byte in a sparse file: the counts all fit
        // the file, but reading it as long[] would take 8 GiB of heap.
        byte[] head = new GgufSamples.Raw().header(0, 1).key("huge", GgufValueType.ARRAY).u32(GgufValueType.UINT8.id()).u64(1L << 30).toBytes();
        Path p = dir.resolve("hostile.gguf");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.write(head);
            raf.setLength(head.length + (1L << 30));
        }
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("metadata 'huge'") && e.getMessage().contains("MiB of heap"), e.getMessage());
    }
}
