package dev.herd.spark.testing;

import org.apache.spark.sql.SparkSession;

/** One local SparkSession for every Spark test in the JVM (starting one costs ~7 s). */
public final class SharedSpark {
    private SharedSpark() {}

    private static SparkSession session;

    public static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("herd tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.warehouse.dir", System.getProperty("java.io.tmpdir") + "/herd-test-warehouse")
                    .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
        }
        return session;
    }
}
