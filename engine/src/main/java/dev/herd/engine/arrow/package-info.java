/**
 * The engine's batch boundary in Apache Arrow: a record batch of requests in, a record batch of
 * results out, one result row per request row and in the same order. Any Arrow host (Spark, a
 * Flight server, a Python process over the C data interface) can run a batch through
 * {@link dev.herd.engine.arrow.ArrowBatchEngine}; the column names and types are in
 * {@link dev.herd.engine.arrow.ArrowBatchSchemas}.
 */
package dev.herd.engine.arrow;
