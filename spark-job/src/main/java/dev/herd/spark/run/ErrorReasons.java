package dev.herd.spark.run;

/**
 * Groups row errors into reasons for the summary: the message up to its first ": " (details such
 * as paths follow it), with numbers replaced by N, so "prompt of 5012 tokens does not fit the
 * context of 4096" and "… 6120 …" count as one reason.
 */
public final class ErrorReasons {
    private ErrorReasons() {}

    /** The same rule as {@link #reason}, as a Spark SQL expression over a column named {@code error}. */
    public static final String SQL = "regexp_replace(substring_index(error, ': ', 1), '[0-9]+', 'N')";

    public static String reason(String error) {
        int colon = error.indexOf(": ");
        String head = colon < 0 ? error : error.substring(0, colon);
        return head.replaceAll("[0-9]+", "N");
    }
}
