package dev.herd.engine.model;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.tensor.Kernels;
import dev.herd.engine.tensor.Tensor;

import java.util.Arrays;

/**
 * Fetches a model's tensors by name, checking each against the shape the hyper-parameters imply
 * and against the types herd has kernels for, so a bad file fails at load with the tensor named.
 */
public record TensorLoader(GgufModel gguf, String missingHint) {

    /**
     * The tensor with dimensions {@code ne} (ggml order; {@code -1} accepts any size; trailing
     * dimensions of 1 may be left out).
     */
    public Tensor tensor(String name, long... ne) throws GgufFormatException {
        Tensor t = gguf.tensorOrNull(name);
        if (t == null) {
            throw new GgufFormatException(gguf.path(), "required tensor '" + name + "' is missing" + (missingHint.isEmpty() ? "" : "; " + missingHint));
        }
        long[] actual = t.ne();
        boolean ok = true;
        for (int i = 0; i < Math.max(ne.length, actual.length); i++) {
            long want = i < ne.length ? ne[i] : 1, have = i < actual.length ? actual[i] : 1;
            if (want >= 0 && want != have) ok = false;
        }
        if (!ok) {
            throw new GgufFormatException(gguf.path(), "tensor '" + name + "' has shape " + Arrays.toString(actual)
                    + ", expected " + Arrays.toString(ne) + " from the model's hyper-parameters");
        }
        if (!Kernels.isSupported(t.type())) {
            throw new GgufFormatException(gguf.path(), "tensor '" + name + "' has type " + t.type() + ", which herd does not support");
        }
        return t;
    }

    /** A weight matrix of {@code rows} outputs by {@code cols} inputs ({@code ne = {cols, rows}}). */
    public Tensor matrix(String name, long cols, long rows) throws GgufFormatException {
        return tensor(name, cols, rows);
    }

    /** A vector of {@code n} values, as floats. */
    public float[] vector(String name, long n) throws GgufFormatException {
        return tensor(name, n).toFloatArray();
    }
}
