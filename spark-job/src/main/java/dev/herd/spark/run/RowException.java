package dev.herd.spark.run;

/** Why one input row cannot become a request; it becomes that row's {@code error}. */
final class RowException extends RuntimeException {
    RowException(String message) {
        super(message, null, false, false);
    }
}
