package dev.herd.engine;

/**
 * What a caller may want to know about the loaded model.
 *
 * @param name          {@code general.name}, else the file name
 * @param architecture  {@code general.architecture} (e.g. {@code llama4})
 * @param fileType      the dominant weight type, e.g. {@code Q8_0}
 * @param contextLength the context window sequences get
 * @param vocabSize     logits per position
 * @param hasVision     whether a vision projector is loaded
 */
public record ModelInfo(String name, String architecture, String fileType, int contextLength,
                        int vocabSize, boolean hasVision) {}
