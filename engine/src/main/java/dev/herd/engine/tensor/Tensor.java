package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named tensor over mapped (or native) memory, in ggml's dimension order: {@code ne[0]} is the
 * row length, so a weight matrix {@code [out][in]} has {@code ne = {in, out}}.
 */
public record Tensor(String name, GgmlType type, long[] ne, MemorySegment data) {

    public Tensor {
        ne = ne.clone();
    }

    @Override
    public long[] ne() { return ne.clone(); }

    public long ne(int dim) { return dim < ne.length ? ne[dim] : 1; }

    /** Values per row ({@code ne[0]}). */
    public int rowLength() { return Math.toIntExact(ne[0]); }

    /** Rows, all outer dimensions flattened. */
    public long rows() {
        long n = 1;
        for (int d = 1; d < ne.length; d++) n *= ne[d];
        return n;
    }

    public long rowBytes() { return type.rowBytes(ne[0]); }

    public long elementCount() { return ne[0] * rows(); }

    /** The kernels for this tensor's type; fails naming the tensor when herd has none. */
    public WeightKernel kernel() {
        return Kernels.forTensor(this);
    }

    /**
     * Matrix {@code index} of a 3-D tensor (e.g. one expert of {@code ffn_up_exps}, whose
     * {@code ne = {n_embd, n_ff_exp, n_expert}}): a 2-D view, no copy.
     */
    public Tensor slice(int index) {
        if (ne.length != 3) throw new IllegalStateException(name + " is not 3-D: " + Arrays.toString(ne));
        if (index < 0 || index >= ne[2]) throw new IndexOutOfBoundsException(name + " has " + ne[2] + " matrices, asked for #" + index);
        long matrixBytes = rowBytes() * ne[1];
        return new Tensor(name + "[" + index + "]", type, new long[]{ne[0], ne[1]},
                data.asSlice(matrixBytes * index, matrixBytes));
    }

    /** All values as floats (for small tensors: norms, biases, frequency factors). */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException(name + " is too large to copy to the heap");
        float[] out = new float[(int) n];
        WeightKernel k = kernel();
        int rowLen = rowLength();
        long rowBytes = rowBytes();
        for (long r = 0; r < rows(); r++) {
            k.dequantize(data, r * rowBytes, out, (int) (r * rowLen), rowLen);
        }
        return out;
    }

    /** Row {@code r} as floats. */
    public float[] row(long r, float[] dst) {
        kernel().dequantize(data, r * rowBytes(), dst, 0, rowLength());
        return dst;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(ne);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && type == t.type && Arrays.equals(ne, t.ne) && data.equals(t.data);
    }

    @Override
    public int hashCode() { return name.hashCode(); }
}
