package dev.herd.spark.model;

import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;

/** A Hadoop configuration that travels to executors (Configuration is Writable, not Serializable). */
public final class SerializableConfiguration implements Serializable {
    private transient Configuration conf;

    public SerializableConfiguration(Configuration conf) {
        this.conf = conf;
    }

    public Configuration get() { return conf; }

    @Serial
    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        conf.write(out);
    }

    @Serial
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        conf = new Configuration(false);
        conf.readFields(in);
    }
}
