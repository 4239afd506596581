package dev.herd.spark.run;

/** The job stopped before every row was done; what was committed stays, and the summary says why. */
public class JobFailedException extends RuntimeException {
    private final Summary summary;

    JobFailedException(String message, Summary summary, Throwable cause) {
        super(message, cause);
        this.summary = summary;
    }

    public Summary summary() { return summary; }
}
