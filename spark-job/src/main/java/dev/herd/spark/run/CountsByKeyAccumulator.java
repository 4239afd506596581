package dev.herd.spark.run;

import org.apache.spark.util.AccumulatorV2;

import java.util.Map;
import java.util.TreeMap;

/** Counts per key (failed rows per reason), merged across tasks. */
public final class CountsByKeyAccumulator extends AccumulatorV2<String, Map<String, Long>> {
    private final TreeMap<String, Long> counts = new TreeMap<>();

    @Override public boolean isZero() { return counts.isEmpty(); }

    @Override
    public AccumulatorV2<String, Map<String, Long>> copy() {
        CountsByKeyAccumulator c = new CountsByKeyAccumulator();
        c.counts.putAll(counts);
        return c;
    }

    @Override public void reset() { counts.clear(); }

    @Override public void add(String key) { counts.merge(key, 1L, Long::sum); }

    @Override
    public void merge(AccumulatorV2<String, Map<String, Long>> other) {
        other.value().forEach((k, v) -> counts.merge(k, v, Long::sum));
    }

    @Override public Map<String, Long> value() { return counts; }
}
