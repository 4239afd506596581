package dev.herd.engine.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the reference fixtures ({@code ../shared/fixtures} beside the repository, or
 * {@code $HERD_FIXTURES}). Under CI ({@code CI} set) a missing fixture fails the test loudly; on a
 * developer's clone without {@code ../shared} the test is skipped and says why.
 */
public final class Fixtures {
    private Fixtures() {}

    private static final Path ROOT = locate();

    private static Path locate() {
        String env = System.getenv("HERD_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath();
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolveSibling("shared").resolve("fixtures");
            if (Files.isDirectory(candidate)) return candidate;
        }
        return null;
    }

    public static boolean underCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false");
    }

    /** The fixture at {@code relative} (e.g. {@code text/tiny/tiny-f32.gguf}); fails under CI, skips elsewhere, when absent. */
    public static Path path(String relative) {
        Path p = ROOT == null ? null : ROOT.resolve(relative);
        if (p == null || !Files.exists(p)) {
            String why = "reference fixture " + relative + " not found (looked for ../shared/fixtures beside the repository and $HERD_FIXTURES)";
            if (underCi()) throw new AssertionError(why + ": CI must have ../shared");
            Assumptions.abort(why);
        }
        return p;
    }
}
