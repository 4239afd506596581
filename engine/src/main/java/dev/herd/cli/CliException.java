package dev.herd.cli;

/** A user-facing CLI failure: its message is printed as is, without a stack trace. */
public class CliException extends RuntimeException {
    private final int exitCode;

    public CliException(String message) { this(message, 2); }

    public CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() { return exitCode; }
}
