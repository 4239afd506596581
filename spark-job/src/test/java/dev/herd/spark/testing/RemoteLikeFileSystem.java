package dev.herd.spark.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;

import java.net.URI;

/**
 * Local files under a scheme of their own ({@code remotefs:}), so the model cache treats them as
 * remote and copies them, as it would from HDFS or S3.
 */
public final class RemoteLikeFileSystem extends RawLocalFileSystem {
    public static final String SCHEME = "remotefs";

    @Override
    public URI getUri() { return URI.create(SCHEME + ":///"); }

    @Override
    public String getScheme() { return SCHEME; }

    public static Configuration configure(Configuration conf) {
        conf.set("fs." + SCHEME + ".impl", RemoteLikeFileSystem.class.getName());
        conf.setBoolean("fs." + SCHEME + ".impl.disable.cache", true);
        return conf;
    }

    public static String uri(java.nio.file.Path local) {
        return SCHEME + "://" + local.toAbsolutePath();
    }
}
