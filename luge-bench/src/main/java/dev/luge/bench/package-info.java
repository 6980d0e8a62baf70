/**
 * Benchmarks of Luge against peers measured in the same run.
 *
 * <ul>
 *   <li>{@link dev.luge.bench.DurableBench}: the comparison harness (every store in a fresh JVM,
 *       the same workloads, a table of figures and ratios); {@link
 *       dev.luge.bench.DurableBenchChild}: the workloads as they run in a store's JVM; {@link
 *       dev.luge.bench.SpaceSampler}: the most a store's files held while a workload ran;
 *   <li>{@link dev.luge.bench.Kv}: one store as the harness drives it; {@link
 *       dev.luge.bench.Peers}: the other stores, configured alike; {@link dev.luge.bench.Stores}:
 *       the data sets;
 *   <li>{@link dev.luge.bench.YcsbBench}, {@link dev.luge.bench.YcsbBinding}: the YCSB core
 *       workloads through YCSB's own client;
 *   <li>{@link dev.luge.bench.TreeBench}, {@link dev.luge.bench.FillBench}, {@link
 *       dev.luge.bench.DeltaBench}: JMH benchmarks; {@link dev.luge.bench.Report}: their JSON
 *       results as the README's table.
 * </ul>
 */
package dev.luge.bench;
