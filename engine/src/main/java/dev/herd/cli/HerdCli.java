package dev.herd.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code bin/herd}: the engine's command line. Argument names and JSON outputs are contracts that
 * other tools drive; extend them, never rename.
 */
@Command(name = "herd", mixinStandardHelpOptions = true, version = "herd 0.1.0",
        description = "Llama 4 MoE inference on the JVM.",
        subcommands = {TokenizeCommand.class, GenerateCommand.class, ScoreCommand.class, LogitsCommand.class, EmbedImageCommand.class, InspectCommand.class, SynthCommand.class, BenchCommand.class})
public final class HerdCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line; errors become a one-line message on {@code err} and a non-zero exit code, never a stack trace. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new HerdCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            Throwable cause = e;
            while (cause.getCause() != null && (cause.getMessage() == null || cause instanceof java.util.concurrent.CompletionException)) {
                cause = cause.getCause();
            }
            commandLine.getErr().println("herd " + commandLine.getCommandName() + ": " + describe(cause));
            if (System.getenv("HERD_DEBUG") != null) cause.printStackTrace(commandLine.getErr());
            return cause instanceof CliException c ? c.exitCode() : 1;
        });
        return cli.execute(args);
    }

    private static String describe(Throwable t) {
        String msg = t.getMessage();
        if (t instanceof java.nio.file.NoSuchFileException) return "no such file: " + msg;
        if (t instanceof OutOfMemoryError) return "out of memory (" + msg + "); raise -Xmx via HERD_JAVA_OPTS";
        return msg != null ? msg : t.getClass().getSimpleName();
    }
}
