package dev.herd.spark.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.spark.config.ConfigException;
import dev.herd.spark.config.JobConfig;
import dev.herd.spark.config.PromptTemplate;
import dev.herd.spark.model.ChecksumMemo;
import dev.herd.spark.model.EngineSpec;
import dev.herd.spark.model.ModelFile;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.AtomicType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything the driver checks and resolves before any executor work: the input exists and has
 * the columns the job needs, with usable types; the model files exist (and their checksums are
 * known); the output path is new, or resumable with the same settings. Problems are collected
 * and reported together, each naming its key or column.
 */
public final class JobPlan {
    static final String JOB_FILE = "_herd/job.json";
    private static final Pattern SPLIT = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");
    private static final ObjectMapper JSON = new ObjectMapper();

    final JobConfig config;
    final Dataset<Row> input;
    /** Input columns the job reads or passes through, in prepared-dataset order (after the id). */
    final List<String> columns;
    final RowPlan rowPlan;
    final StructType outputSchema;
    final EngineSpec engine;
    final Path outputPath;
    final OutputState outputState;

    enum OutputState { NEW, OVERWRITE, RESUME }

    private JobPlan(JobConfig config, Dataset<Row> input, List<String> columns, RowPlan rowPlan,
                    StructType outputSchema, EngineSpec engine, Path outputPath, OutputState outputState) {
        this.config = config;
        this.input = input;
        this.columns = columns;
        this.rowPlan = rowPlan;
        this.outputSchema = outputSchema;
        this.engine = engine;
        this.outputPath = outputPath;
        this.outputState = outputState;
    }

    public static JobPlan create(SparkSession spark, JobConfig config) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        List<String> problems = new ArrayList<>();

        PromptTemplate template = null;
        if (config.prompt().template() != null) {
            try {
                template = PromptTemplate.parse(config.prompt().template());
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            }
        }
        List<Path> modelParts = modelParts(config.model().path(), "model.path", conf, problems);
        List<Path> mmproj = config.model().mmproj() == null ? List.of() : modelParts(config.model().mmproj(), "model.mmproj", conf, problems);
        Dataset<Row> input = inputExists(config, conf, problems) ? read(spark, config, problems) : null;
        Path outputPath = qualified(config.output().path(), conf, problems);

        List<String> columns = new ArrayList<>();
        RowPlan rowPlan = null;
        StructType outputSchema = null;
        if (input != null) {
            ColumnCheck check = new ColumnCheck(input.schema(), problems);
            rowPlan = check.plan(config, template, columns);
            outputSchema = OutputSchema.of(config, check.passthrough(config, columns));
        }
        OutputState state = problems.isEmpty() ? outputState(spark, config, conf, outputPath, outputSchema, problems) : OutputState.NEW;
        if (!problems.isEmpty()) throw new ConfigException(problems);

        EngineSpec engine = engineSpec(spark, config, conf, modelParts, mmproj.isEmpty() ? null : mmproj.getFirst());
        if (state == OutputState.RESUME) checkResumable(config, conf, outputPath, engine);
        return new JobPlan(config, input, columns, rowPlan, outputSchema, engine, outputPath, state);
    }

    private static Path qualified(String location, Configuration conf, List<String> problems) {
        Path path = new Path(location);
        try {
            return path.getFileSystem(conf).makeQualified(path);
        } catch (IOException | IllegalArgumentException e) {
            problems.add("output.path: cannot use '" + location + "': " + e.getMessage());
            return path;
        }
    }

    private static boolean inputExists(JobConfig config, Configuration conf, List<String> problems) {
        try {
            Path path = new Path(config.input().path());
            FileStatus[] found = path.getFileSystem(conf).globStatus(path);
            if (found == null || found.length == 0) {
                problems.add("input.path: nothing at '" + config.input().path() + "'");
                return false;
            }
            return true;
        } catch (IOException | IllegalArgumentException e) {
            problems.add("input.path: cannot read '" + config.input().path() + "': " + e.getMessage());
            return false;
        }
    }

    private static Dataset<Row> read(SparkSession spark, JobConfig config, List<String> problems) {
        JobConfig.Input in = config.input();
        DataFrameReader reader = spark.read();
        if (in.format() == JobConfig.InputFormat.CSV && !in.options().containsKey("header")) reader = reader.option("header", "true");
        reader = reader.options(in.options());
        try {
            if (in.schema() != null) reader = reader.schema(in.schema());
        } catch (RuntimeException e) {
            problems.add("input.schema is not a valid DDL schema ('a STRING, b INT'): " + firstLine(e));
            return null;
        }
        try {
            return switch (in.format()) {
                case PARQUET -> reader.parquet(in.path());
                case JSONL -> reader.json(in.path());
                case CSV -> reader.csv(in.path());
                // Only the path is read here; each task reads its images' bytes as it needs them.
                case IMAGES -> reader.format("binaryFile").load(in.path()).drop("content");
            };
        } catch (RuntimeException e) {
            problems.add("input.path: cannot read '" + in.path() + "' as " + in.format().name().toLowerCase(Locale.ROOT) + ": " + firstLine(e));
            return null;
        }
    }

    /** The model file (qualified), or every part of a split GGUF named by its first part. */
    private static List<Path> modelParts(String location, String key, Configuration conf, List<String> problems) {
        try {
            Path path = new Path(location);
            FileSystem fs = path.getFileSystem(conf);
            path = fs.makeQualified(path);
            FileStatus status = fs.getFileStatus(path);
            if (status.isDirectory()) {
                problems.add(key + ": '" + location + "' is a directory; name the .gguf file");
                return List.of();
            }
            Matcher split = SPLIT.matcher(path.getName());
            if (!split.matches()) return List.of(path);
            if (!split.group(2).equals("00001")) {
                problems.add(key + ": '" + location + "' is part " + split.group(2) + " of a split model; name the first part (-00001-of-" + split.group(3) + ".gguf)");
                return List.of();
            }
            List<Path> parts = new ArrayList<>();
            int count = Integer.parseInt(split.group(3));
            for (int i = 1; i <= count; i++) {
                Path part = new Path(path.getParent(), String.format("%s-%05d-of-%s.gguf", split.group(1), i, split.group(3)));
                if (!fs.exists(part)) problems.add(key + ": part " + i + " of the split model is missing: " + part);
                parts.add(part);
            }
            return parts;
        } catch (FileNotFoundException e) {
            problems.add(key + ": no file at '" + location + "'");
        } catch (IOException | IllegalArgumentException e) {
            problems.add(key + ": cannot read '" + location + "': " + e.getMessage());
        }
        return List.of();
    }

    private static EngineSpec engineSpec(SparkSession spark, JobConfig config, Configuration conf, List<Path> parts, Path mmproj) {
        ChecksumMemo memo = new ChecksumMemo(java.nio.file.Path.of(config.model().cacheDir()));
        try {
            List<ModelFile> files = new ArrayList<>();
            for (Path p : parts) files.add(modelFile(p, conf, memo));
            ModelFile projector = mmproj == null ? null : modelFile(mmproj, conf, memo);
            JobConfig.EngineSettings e = config.engine();
            int taskCpus = Integer.parseInt(spark.conf().get("spark.task.cpus", "1"));
            return new EngineSpec(files, projector, config.model().cacheDir(), e.factory(), e.threads(),
                    executorCores(spark), taskCpus, e.maxSequences(), config.batchSize() * config.batchesInFlight(),
                    e.maxBatchTokens(), (long) e.kvCacheMb() << 20, e.contextLength(), e.kvCacheType());
        } catch (IOException e) {
            throw new ConfigException("model.path: cannot read the model files to checksum them: " + e);
        }
    }

    private static ModelFile modelFile(Path path, Configuration conf, ChecksumMemo memo) throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        FileStatus status = fs.getFileStatus(path);
        return new ModelFile(path.toUri().toString(), status.getLen(), status.getModificationTime(), memo.sha256(fs, status));
    }

    /** Cores of one executor when the driver can know them (local[N], spark.executor.cores), else 0. */
    static int executorCores(SparkSession spark) {
        String master = spark.sparkContext().master();
        if (master.equals("local")) return 1;
        Matcher local = Pattern.compile("local\\[(\\*|\\d+)(,\\d+)?]").matcher(master);
        if (local.matches()) return local.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(local.group(1));
        String cores = spark.conf().get("spark.executor.cores", null);
        return cores == null ? 0 : Integer.parseInt(cores);
    }

    private static OutputState outputState(SparkSession spark, JobConfig config, Configuration conf, Path out, StructType schema, List<String> problems) {
        try {
            FileSystem fs = out.getFileSystem(conf);
            if (!fs.exists(out)) return OutputState.NEW;
            if (!fs.getFileStatus(out).isDirectory()) {
                problems.add("output.path: '" + out + "' is a file; it must be a directory (or not exist yet)");
                return OutputState.NEW;
            }
            long dataFiles = Arrays.stream(fs.listStatus(out)).filter(s -> !hidden(s.getPath().getName())).count();
            if (config.output().overwrite()) return OutputState.OVERWRITE;
            if (dataFiles == 0) return fs.exists(new Path(out, JOB_FILE)) ? OutputState.RESUME : OutputState.NEW;
            if (!config.resume()) {
                problems.add("output.path: '" + out + "' already holds results (" + dataFiles
                        + " files): set resume: true to finish that job, or output.overwrite: true to replace it");
                return OutputState.NEW;
            }
            StructType existing = spark.read().parquet(out.toString()).schema();
            if (!sameColumns(existing, schema)) {
                problems.add("resume: output.path '" + out + "' has columns " + describe(existing)
                        + " but this job writes " + describe(schema) + ": use a new output.path");
            }
            return OutputState.RESUME;
        } catch (IOException | RuntimeException e) {
            problems.add("output.path: cannot inspect '" + out + "': " + firstLine(e));
            return OutputState.NEW;
        }
    }

    /** A resumed job must produce rows the same way as the one that wrote the output. */
    private static void checkResumable(JobConfig config, Configuration conf, Path out, EngineSpec engine) {
        Path jobFile = new Path(out, JOB_FILE);
        JsonNode previous;
        try (InputStream in = jobFile.getFileSystem(conf).open(jobFile)) {
            previous = JSON.readTree(in);
        } catch (FileNotFoundException e) {
            throw new ConfigException("resume: output.path '" + out + "' has no " + JOB_FILE + ", so it was not written by herd; use a new output.path");
        } catch (IOException e) {
            throw new ConfigException("resume: cannot read " + jobFile + ": " + e);
        }
        List<String> problems = new ArrayList<>();
        String sha = previous.path("model_sha256").asText();
        if (!sha.equals(engine.sha256())) {
            problems.add("resume: output.path was written with a model of SHA-256 " + sha + ", this job's model.path has " + engine.sha256() + "; resuming would mix two models' results");
        }
        Map<String, String> before = new TreeMap<>();
        previous.path("settings").fields().forEachRemaining(e -> before.put(e.getKey(), e.getValue().asText()));
        LinkedHashSet<String> keys = new LinkedHashSet<>(before.keySet());
        keys.addAll(config.resultKeys().keySet());
        for (String key : keys) {
            String was = before.get(key);
            String now = config.resultKeys().get(key);
            if (was == null ? now != null : !was.equals(now)) {
                problems.add("resume: " + key + " was " + (was == null ? "unset" : "'" + was + "'") + " when output.path was written, now "
                        + (now == null ? "unset" : "'" + now + "'") + "; resuming would mix results of two settings");
            }
        }
        if (!problems.isEmpty()) throw new ConfigException(problems);
    }

    /** What {@link #checkResumable} compares against, written beside the output before the first chunk. */
    Map<String, Object> jobRecord() {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("model_sha256", engine.sha256());
        record.put("model_uri", engine.parts().getFirst().uri());
        record.put("settings", config.resultKeys());
        return record;
    }

    private static boolean sameColumns(StructType a, StructType b) {
        if (a.fields().length != b.fields().length) return false;
        for (int i = 0; i < a.fields().length; i++) {
            if (!a.fields()[i].name().equals(b.fields()[i].name())
                    || !a.fields()[i].dataType().asNullable().sameType(b.fields()[i].dataType().asNullable())) return false;
        }
        return true;
    }

    private static String describe(StructType s) {
        return Arrays.stream(s.fields()).map(f -> f.name() + " " + f.dataType().simpleString()).toList().toString();
    }

    static boolean hidden(String name) {
        return name.startsWith("_") || name.startsWith(".");
    }

    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Checks the input schema against the job, building the {@link RowPlan}. */
    private static final class ColumnCheck {
        private final StructType schema;
        private final List<String> problems;

        ColumnCheck(StructType schema, List<String> problems) {
            this.schema = schema;
            this.problems = problems;
        }

        RowPlan plan(JobConfig config, PromptTemplate template, List<String> columns) {
            JobConfig.PromptSpec prompt = config.prompt();
            int promptIndex = -1;
            boolean messages = false;
            if (prompt.column() != null) {
                DataType type = type("prompt.column", prompt.column());
                if (type != null) {
                    if (isMessages(type)) {
                        messages = true;
                        if (!prompt.chat()) {
                            problems.add("prompt.column '" + prompt.column() + "' holds chat messages: set prompt.chat: true to render them with the model's chat template");
                        }
                    } else if (!type.equals(DataTypes.StringType)) {
                        problems.add("prompt.column '" + prompt.column() + "' has type " + type.simpleString()
                                + "; expected string, or array<struct<role: string, content: string>> for chat messages");
                    }
                    promptIndex = index(columns, prompt.column());
                }
            }
            Map<String, Integer> templateIndexes = new LinkedHashMap<>();
            if (template != null) {
                for (String name : template.columns()) {
                    DataType type = type("prompt.template", name);
                    if (type == null) continue;
                    if (!(type instanceof AtomicType) || type instanceof BinaryType) {
                        problems.add("prompt.template: column '" + name + "' has type " + type.simpleString() + "; a template can only insert plain values (strings, numbers, dates)");
                    }
                    templateIndexes.put(name, index(columns, name));
                }
            }
            int contextIndex = stringColumn("context.column", config.contextColumn(), columns);
            int continuationIndex = stringColumn("continuation.column", config.continuationColumn(), columns);
            int imageIndex = -1;
            boolean imageIsPath = false;
            if (config.image().column() != null) {
                DataType type = type("image.column", config.image().column());
                if (type != null) {
                    imageIsPath = type.equals(DataTypes.StringType);
                    if (!imageIsPath && !type.equals(DataTypes.BinaryType)) {
                        problems.add("image.column '" + config.image().column() + "' has type " + type.simpleString() + "; expected binary (the encoded image) or string (its path or URI)");
                    }
                    imageIndex = index(columns, config.image().column());
                }
            }
            if (config.idColumn() != null) {
                DataType type = type("id_column", config.idColumn());
                if (type != null && (!(type instanceof AtomicType) || type instanceof BinaryType)) {
                    problems.add("id_column '" + config.idColumn() + "' has type " + type.simpleString() + "; expected a string or number");
                }
            }
            List<Integer> passthrough = new ArrayList<>();
            List<String> reserved = OutputSchema.reservedNames(config);
            LinkedHashSet<String> seen = new LinkedHashSet<>();
            for (String name : config.output().columns()) {
                if (!seen.add(name)) {
                    problems.add("output.columns lists '" + name + "' twice");
                } else if (reserved.contains(name)) {
                    problems.add("output.columns: '" + name + "' is a column herd writes itself; rename it in the input"
                            + (name.equals(OutputSchema.ID) ? " or make it the row id with id_column: " + name : ""));
                } else if (type("output.columns", name) != null) {
                    passthrough.add(index(columns, name));
                }
            }
            return new RowPlan(promptIndex, prompt.column(), messages, template, templateIndexes, contextIndex,
                    config.contextColumn(), continuationIndex, config.continuationColumn(), imageIndex,
                    config.image().column(), imageIsPath, passthrough.stream().mapToInt(Integer::intValue).toArray());
        }

        List<StructField> passthrough(JobConfig config, List<String> columns) {
            List<StructField> fields = new ArrayList<>();
            for (String name : new LinkedHashSet<>(config.output().columns())) {
                if (columns.contains(name) && !OutputSchema.reservedNames(config).contains(name)) {
                    StructField f = schema.apply(name);
                    fields.add(DataTypes.createStructField(f.name(), f.dataType(), true));
                }
            }
            return fields;
        }

        private int stringColumn(String key, String name, List<String> columns) {
            if (name == null) return -1;
            DataType type = type(key, name);
            if (type == null) return -1;
            if (!type.equals(DataTypes.StringType)) problems.add(key + " '" + name + "' has type " + type.simpleString() + "; expected string");
            return index(columns, name);
        }

        /** The column's type, or null (with a problem naming the key) when the input has no such column. */
        private DataType type(String key, String name) {
            for (StructField f : schema.fields()) if (f.name().equals(name)) return f.dataType();
            String hint = Arrays.stream(schema.fieldNames()).filter(n -> n.equalsIgnoreCase(name)).findFirst()
                    .map(n -> " (did you mean '" + n + "'? names are case-sensitive)").orElse("");
            problems.add(key + ": the input has no column '" + name + "'" + hint + "; its columns are " + Arrays.toString(schema.fieldNames()));
            return null;
        }

        /** Position in the prepared dataset: 0 is the row id, then each distinct column once. */
        private static int index(List<String> columns, String name) {
            int i = columns.indexOf(name);
            if (i < 0) {
                columns.add(name);
                i = columns.size() - 1;
            }
            return i + 1;
        }

        private static boolean isMessages(DataType type) {
            if (!(type instanceof ArrayType array) || !(array.elementType() instanceof StructType struct)) return false;
            List<String> names = Arrays.asList(struct.fieldNames());
            return names.contains("role") && names.contains("content")
                    && struct.apply("role").dataType().equals(DataTypes.StringType)
                    && struct.apply("content").dataType().equals(DataTypes.StringType);
        }
    }
}
