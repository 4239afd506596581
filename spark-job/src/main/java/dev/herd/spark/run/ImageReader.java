package dev.herd.spark.run;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.net.URI;

/** Reads an image named by a path or URI column through Hadoop FileSystem (local, HDFS, S3…). */
final class ImageReader {
    private final Configuration conf;
    private final Path basePath;
    private final long maxBytes;

    ImageReader(Configuration conf, String basePath, long maxBytes) {
        this.conf = conf;
        this.basePath = basePath == null ? null : new Path(basePath);
        this.maxBytes = maxBytes;
    }

    /** @throws RowException "unreadable image: …" or "image too large: …" */
    byte[] read(String location) {
        Path path = new Path(URI.create(location).getScheme() == null && basePath != null && !location.startsWith("/")
                ? new Path(basePath, location).toString() : location);
        try {
            FileSystem fs = path.getFileSystem(conf);
            FileStatus status = fs.getFileStatus(path);
            if (status.getLen() > maxBytes) {
                throw new RowException("image too large: " + path + " has " + status.getLen() + " bytes, more than image.max_bytes (" + maxBytes + ")");
            }
            byte[] bytes = new byte[(int) status.getLen()];
            try (FSDataInputStream in = fs.open(path)) {
                in.readFully(0, bytes);
            }
            return bytes;
        } catch (IOException | IllegalArgumentException e) {
            throw new RowException("unreadable image: " + path + ": " + e);
        }
    }
}
