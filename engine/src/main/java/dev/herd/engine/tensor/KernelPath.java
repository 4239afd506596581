package dev.herd.engine.tensor;

/** Which implementation computes a weight type's matmul: the Vector API kernels or the native (C) ones. */
public enum KernelPath {
    JAVA,
    NATIVE
}
