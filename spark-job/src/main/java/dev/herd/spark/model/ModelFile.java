package dev.herd.spark.model;

import java.io.Serializable;
import java.net.URI;

/**
 * One model file as the driver saw it: what executors need to find, copy and verify it. Never the
 * weights themselves.
 *
 * @param uri              fully qualified ({@code file:/…}, {@code hdfs://…}, {@code s3a://…})
 * @param size             bytes
 * @param modificationTime milliseconds since the epoch, as the file system reports it
 * @param sha256           lower-case hex
 */
public record ModelFile(String uri, long size, long modificationTime, String sha256) implements Serializable {

    public String fileName() {
        String path = URI.create(uri).getPath();
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** Local (or shared POSIX) files are mapped where they are; anything else is copied to the node first. */
    public boolean isLocal() {
        String scheme = URI.create(uri).getScheme();
        return scheme == null || scheme.equals("file");
    }
}
