package dev.herd.engine.image;

/**
 * An image that cannot be decoded: unsupported format, corrupt or truncated data, or declared
 * dimensions over the decoder's limits. The message names the image and what was wrong; it concerns
 * that image only, so a batch can record it against the row and go on.
 */
public class ImageDecodeException extends RuntimeException {
    public ImageDecodeException(String message) { super(message); }
    public ImageDecodeException(String message, Throwable cause) { super(message, cause); }
}
