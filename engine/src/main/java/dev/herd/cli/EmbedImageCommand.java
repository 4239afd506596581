package dev.herd.cli;

import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.image.ImageDecoder;
import dev.herd.engine.model.llama4.vision.Llama4ImageLayout;
import dev.herd.engine.model.llama4.vision.Llama4Vision;
import dev.herd.engine.model.llama4.vision.Llama4VisionEncoder;
import dev.herd.engine.runtime.ComputePool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;

/**
 * {@code herd embed-image}: an image's projected embeddings as raw little-endian float32
 * {@code [n_image_tokens][n_embd_text]} (all tiles, in prompt order); {@code --layout} prints
 * the image's token layout as JSON.
 */
@Command(name = "embed-image", description = "Encode an image with the vision projector: raw float32 embeddings, or the token layout with --layout.")
final class EmbedImageCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--mmproj", required = true, paramLabel = "FILE", description = "vision projector GGUF")
    Path mmproj;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "image file (JPEG, PNG, GIF, BMP, WebP)")
    Path image;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "where to write the embeddings")
    Path out;

    @Option(names = "--layout", description = "print {\"tiles\":[rows,cols],\"tokens\":[…]} on stdout")
    boolean layout;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "compute threads (default: all cores)")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (out == null && !layout) throw new CliException("give --out FILE for the embeddings, --layout for the token layout, or both");
        if (!Files.isRegularFile(mmproj)) throw new CliException("vision projector not found: " + mmproj);
        if (!Files.isRegularFile(image)) throw new CliException("image not found: " + image);
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        try (ComputePool pool = new ComputePool(n);
             Llama4Vision vision = new Llama4Vision(Llama4VisionEncoder.load(GgufModel.open(mmproj), pool))) {
            Llama4Vision.Tiles tiles = vision.prepare(new ImageDecoder().decode(image));
            if (layout) spec.commandLine().getOut().println(Llama4ImageLayout.toJson(tiles.grid(), vision.tokensPerTile()));
            if (out != null) {
                long start = System.nanoTime();
                float[] embeddings = vision.embed(tiles);
                spec.commandLine().getErr().printf("encoded %d tile(s) (grid %dx%d) into %d tokens in %.2f s%n", tiles.tiles(),
                        tiles.grid().rows(), tiles.grid().cols(), embeddings.length / vision.embeddingDim(), (System.nanoTime() - start) / 1e9);
                ByteBuffer buf = ByteBuffer.allocate(embeddings.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(embeddings);
                try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    while (buf.hasRemaining()) ch.write(buf);
                }
            }
        }
        return 0;
    }
}
