package dev.herd.engine.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/** A tokenizer file herd cannot read: names the file, the line or field, and what was expected. */
public class TokenizerFormatException extends IOException {
    public TokenizerFormatException(Path file, String message) {
        super(file + ": " + message);
    }
}
