package dev.luge.view;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.testing.ConcurrentNavigableMapTestSuiteBuilder;
import com.google.common.collect.testing.TestStringSortedMapGenerator;
import com.google.common.collect.testing.features.CollectionFeature;
import com.google.common.collect.testing.features.CollectionSize;
import com.google.common.collect.testing.features.MapFeature;
import dev.luge.Codec;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Luge;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.atomic.AtomicLong;
import junit.framework.AssertionFailedError;
import junit.framework.Test;
import junit.framework.TestListener;
import junit.framework.TestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Guava's collection test library, run against {@code tree.asMap(utf8, utf8)}: thousands of
 * contract tests of {@link ConcurrentNavigableMap}, its sub-maps, descending views, key sets, entry
 * sets and values, the suite Guava and Caffeine run against their own maps. The JUnit 3 suite runs
 * inside one JUnit 5 test, which lists every failing case.
 */
class MapViewGuavaSuiteTest {
  private static Db db;
  private static final AtomicLong TREES = new AtomicLong();

  @BeforeAll
  static void open() {
    db = Luge.open(Config.builder().temporary(true).build());
  }

  @AfterAll
  static void close() {
    db.close();
  }

  static Test suite() {
    return ConcurrentNavigableMapTestSuiteBuilder.using(
            new TestStringSortedMapGenerator() {
              @Override
              protected SortedMap<String, String> create(Map.Entry<String, String>[] entries) {
                // Every generated map is a fresh tree of the one database.
                ConcurrentNavigableMap<String, String> map =
                    db.openTree("t" + TREES.incrementAndGet()).asMap(Codec.utf8(), Codec.utf8());
                for (Map.Entry<String, String> e : entries) {
                  map.put(e.getKey(), e.getValue());
                }
                return map;
              }
            })
        .named("Tree.asMap[utf8, utf8]")
        .withFeatures(
            MapFeature.GENERAL_PURPOSE,
            CollectionFeature.SUPPORTS_ITERATOR_REMOVE,
            CollectionSize.ANY)
        .createTestSuite();
  }

  @org.junit.jupiter.api.Test
  void guavaConcurrentNavigableMapSuite() {
    TestResult result = new TestResult();
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    result.addListener(
        new TestListener() {
          @Override
          public void addError(Test test, Throwable e) {
            failures.add(test + ": " + e);
          }

          @Override
          public void addFailure(Test test, AssertionFailedError e) {
            failures.add(test + ": " + e);
          }

          @Override
          public void endTest(Test test) {}

          @Override
          public void startTest(Test test) {}
        });
    Test suite = suite();
    suite.run(result);
    assertTrue(result.runCount() > 1000, "ran " + result.runCount() + " tests");
    System.out.println(
        "Guava testlib: " + result.runCount() + " cases run, " + failures.size() + " failed");
    assertTrue(
        failures.isEmpty(),
        failures.size()
            + " of "
            + result.runCount()
            + " Guava testlib cases failed:\n"
            + String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
  }
}
