/**
 * JMH benchmarks of Luge against peers measured in the same run, and the report that turns
 * their JSON results into the README's table.
 */
package dev.luge.bench;
