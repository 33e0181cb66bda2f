"""The local session's start settings: what a long-lived session (the tests, a notebook) keeps between runs."""

from __future__ import annotations

from pyspark.sql import functions as F

# More distinct generated classes than Spark keeps by default (100); one run of the pipeline makes about 165.
DISTINCT_QUERIES = 130


def test_a_run_again_in_the_same_session_compiles_none_of_its_code_again(spark) -> None:
    compiled = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    # A long literal is written into the generated code, so each of these compiles a class of its own.
    queries = [spark.range(2).select((F.col("id") * n + n).alias("v")) for n in range(7001, 7001 + DISTINCT_QUERIES)]
    first = [q.collect() for q in queries]
    before = compiled.getCount()
    again = [q.collect() for q in queries[:20]]
    assert again == first[:20]
    assert compiled.getCount() == before, "the first queries' classes were evicted and compiled again"
