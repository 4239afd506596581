package dev.herd.spark.run;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A row's sampling seed, from the job seed and the row id only: the same row gets the same
 * tokens whatever the partitioning, batch size or executor count.
 */
public final class RowSeeds {
    private RowSeeds() {}

    public static long seed(long jobSeed, String id) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
        long idBits = 0;
        for (int i = 0; i < 8; i++) idBits = (idBits << 8) | (digest[i] & 0xff);
        return mix(jobSeed + 0x9E3779B97F4A7C15L * mix(idBits));
    }

    /** SplitMix64's finaliser: nearby inputs give unrelated outputs. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
