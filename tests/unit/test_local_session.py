"""The local session's start settings: what a long-lived session (the tests, a notebook) keeps between runs,
and how fast PySpark finds the JVM classes it names on every call."""

from __future__ import annotations

from collections import Counter
from unittest.mock import patch

from py4j.java_gateway import JVMView, java_import
from pyspark.sql import functions as F

from bedrock_costs.discover import discover_local
from bedrock_costs.parse import parse_lines
from bedrock_costs.read import read_lines
from bedrock_costs.spark import LOOKED_UP_BY_NAME

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


def test_the_classes_pyspark_names_on_every_call_are_imported_by_their_full_names(spark, corpus, jvm_view) -> None:
    looked_up: Counter[str] = Counter()
    resolve = JVMView.__getattr__

    def counting(view: JVMView, name: str):
        looked_up[name] += 1
        return resolve(view, name)

    objects = discover_local(corpus)[:3]
    with patch.object(JVMView, "__getattr__", counting):
        plan = parse_lines(read_lines(spark, objects))  # the run's largest plan, built column by column
    assert plan.columns
    imported = dict(jvm_view.getSingleImportsMap())
    frequent = {name for name, n in looked_up.items() if n >= 10 and name != "org"}  # "org" is a package
    searched = frequent - imported.keys()
    assert frequent and not searched, f"looked up often, found by a search of the packages: {searched}"
    for fqn in LOOKED_UP_BY_NAME:
        simple = fqn.rsplit(".", 1)[1]
        assert imported[simple] == fqn
        # The class the import names is the one PySpark's package imports find.
        view = spark.sparkContext._gateway.new_jvm_view()
        for package in jvm_view.getStarImports():
            java_import(view, f"{package}.*")
        assert getattr(view, simple)._fqn == fqn
