package dev.herd.engine.gguf;

import java.io.IOException;
import java.nio.file.Path;

/** A GGUF file that is truncated, corrupt or not what herd can read: names the file and the field. */
public class GgufFormatException extends IOException {
    public GgufFormatException(Path file, String message) {
        super(file + ": " + message);
    }
}
