package dev.herd.engine.tensor;

/** A tensor whose ggml type herd has no kernels for. */
public class UnsupportedTensorTypeException extends RuntimeException {
    public UnsupportedTensorTypeException(String message) { super(message); }
}
