package dev.herd.spark.model;

import dev.herd.engine.KvCacheType;
import dev.herd.spark.testing.FakeEngine;
import dev.herd.spark.testing.Jobs;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class EngineHolderTest {
    @TempDir Path tmp;

    private EngineSpec spec(Path model, int threads) throws Exception {
        return spec(model, threads, KvCacheType.F32);
    }

    private EngineSpec spec(Path model, int threads, KvCacheType kvCacheType) throws Exception {
        ModelFile file = new ModelFile(model.toUri().toString(), Files.size(model), 0, "ab".repeat(32));
        return new EngineSpec(List.of(file), null, tmp.resolve("cache").toString(), FakeEngine.Factory.class.getName(),
                threads, 2, 1, 0, 8, 512, 0, 0, kvCacheType);
    }

    @Test
    void theKvCacheTypeReachesTheEngineOptions() throws Exception {
        Path model = Jobs.fakeModel(tmp, "m.gguf");
        assertEquals(KvCacheType.F16, spec(model, 1, KvCacheType.F16).options(model, null).kvCacheType());
        assertEquals(KvCacheType.F32, spec(model, 1, KvCacheType.F32).options(model, null).kvCacheType());
        assertEquals(KvCacheType.F32, spec(model, 1, null).options(model, null).kvCacheType(), "null means the default, f32");
        assertNotEquals(spec(model, 1, KvCacheType.F16), spec(model, 1, KvCacheType.F32), "each type gets its own engine");
        try (EngineHolder.Lease lease = EngineHolder.acquire(spec(model, 1, KvCacheType.F16), new Configuration())) {
            assertNotNull(lease.engine());
            assertEquals(KvCacheType.F16, FakeEngine.lastOptions.kvCacheType());
        }
    }

    @Test
    void oneEnginePerSpecSharedByEveryLease() throws Exception {
        Path model = Jobs.fakeModel(tmp, "m.gguf");
        int before = EngineHolder.loads();
        EngineSpec spec = spec(model, 2);
        try (EngineHolder.Lease a = EngineHolder.acquire(spec, new Configuration());
             EngineHolder.Lease b = EngineHolder.acquire(spec(model, 2), new Configuration())) {
            assertSame(a.engine(), b.engine());
        }
        try (EngineHolder.Lease c = EngineHolder.acquire(spec, new Configuration())) {
            assertEquals(before + 1, EngineHolder.loads(), "reused across leases, never reloaded");
            assertEquals(16, FakeEngine.lastOptions.maxSequences(), "two task slots x batch 8");
            assertEquals(2, FakeEngine.lastOptions.threads());
        }
        assertEquals(1, Files.readAllLines(tmp.resolve("cache").resolve(EngineHolder.LOADS_LOG)).size());
    }

    @Test
    void anotherSpecRetiresTheOldEngineOnceItsLeasesAreBack() throws Exception {
        Path model = Jobs.fakeModel(tmp, "m.gguf");
        EngineHolder.Lease old = EngineHolder.acquire(spec(model, 1), new Configuration());
        EngineHolder.Lease fresh = EngineHolder.acquire(spec(model, 3), new Configuration());
        assertNotSame(old.engine(), fresh.engine());
        assertDoesNotThrow(() -> old.engine().generate(dev.herd.engine.GenerationRequest.greedy(new dev.herd.engine.Prompt.Text("still usable"), 1)).join());
        old.close();
        assertThrows(IllegalStateException.class, () -> old.engine().generate(dev.herd.engine.GenerationRequest.greedy(new dev.herd.engine.Prompt.Text("x"), 1)));
        fresh.close();
    }
}
