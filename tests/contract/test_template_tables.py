"""The Glue tables in template.yaml equal the Spark schemas the job writes, and drift is caught and repaired."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from aws_template import TEMPLATE, fresh_template, load_template, resolve, resources, script_constant
from pyspark.sql import types as T

from bcr import glue_tables
from bcr.cli import main
from bedrock_costs.schemas import PUBLISHED_TABLES, Table


def declared(tpl: dict) -> dict[str, dict]:
    """Glue table name → its TableInput, from a parsed template."""
    return {
        res["Properties"]["TableInput"]["Name"]: res["Properties"]
        for res in resources(tpl, "AWS::Glue::Table").values()
    }


def test_glue_types_follow_hive_spelling() -> None:
    struct = T.StructType([T.StructField("a", T.LongType()), T.StructField("b", T.ArrayType(T.StringType()))])
    cases = {
        T.StringType(): "string",
        T.LongType(): "bigint",
        T.IntegerType(): "int",
        T.DoubleType(): "double",
        T.BooleanType(): "boolean",
        T.TimestampType(): "timestamp",
        T.DateType(): "date",
        T.DecimalType(38, 18): "decimal(38,18)",
        T.MapType(T.StringType(), T.DoubleType()): "map<string,double>",
        T.ArrayType(T.StringType()): "array<string>",
        struct: "struct<a:bigint,b:array<string>>",
    }
    wrong = {
        spark: glue_tables.glue_type(spark) for spark, glue in cases.items() if glue_tables.glue_type(spark) != glue
    }
    assert wrong == {}
    with pytest.raises(ValueError, match="no Glue type"):
        glue_tables.glue_type(T.NullType())


def test_every_published_table_is_declared_with_its_exact_columns() -> None:
    tables = declared(fresh_template())
    assert sorted(tables) == sorted(table.name for table in PUBLISHED_TABLES)
    for table in PUBLISHED_TABLES:
        table_input = tables[table.name]["TableInput"]
        descriptor = table_input["StorageDescriptor"]
        # Expected straight from the Spark schema, in write order, partition column excluded.
        expected = [
            {"Name": f.name, "Type": glue_tables.glue_type(f.dataType)}
            for f in table.schema.fields
            if f.name != table.partition
        ]
        assert descriptor["Columns"] == expected, table.name
        assert table_input["PartitionKeys"] == [{"Name": table.partition, "Type": "string"}], table.name
        assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")


def test_tables_live_where_the_job_writes_them() -> None:
    tpl = fresh_template()
    refs = {"DataBucket": "data-bucket"}
    tables_uri = resolve(tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]["--tables_uri"], refs)
    assert "tables_uri" in script_constant("ARGUMENTS")
    for name, properties in declared(tpl).items():
        assert resolve(properties["TableInput"]["StorageDescriptor"]["Location"], refs) == f"{tables_uri}{name}/"
        assert properties["DatabaseName"] == {"Ref": "GlueDatabase"}


def test_a_schema_change_is_detected_and_rewritten(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    shutil.copyfile(TEMPLATE, copy)
    assert glue_tables.sync(copy, write=False)

    invocations, *others = PUBLISHED_TABLES
    *fields, partition = invocations.schema.fields
    warnings = T.StructField("parse_warnings", T.ArrayType(T.StringType()))
    grown = (replace(invocations, schema=T.StructType([*fields, warnings, partition])), *others)
    assert not glue_tables.sync(copy, write=False, tables=grown)
    assert not glue_tables.sync(copy, write=True, tables=grown)
    assert glue_tables.sync(copy, write=False, tables=grown)
    columns = declared(load_template(copy))["invocations"]["TableInput"]["StorageDescriptor"]["Columns"]
    assert columns[-1] == {"Name": "parse_warnings", "Type": "array<string>"}
    # Everything outside the generated block is untouched.
    assert copy.read_text().split(glue_tables.END)[1] == TEMPLATE.read_text().split(glue_tables.END)[1]
    assert copy.read_text().split(glue_tables.BEGIN)[0] == TEMPLATE.read_text().split(glue_tables.BEGIN)[0]


def test_a_hand_edited_table_fails_the_check_and_write_restores_it(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    copy.write_text(TEMPLATE.read_text().replace('            - {Name: latency_ms, Type: "bigint"}\n', "", 1))
    assert main(["template", "tables", "--template", str(copy)]) == 1
    assert main(["template", "tables", "--template", str(copy), "--write"]) == 0
    assert copy.read_text() == TEMPLATE.read_text()
    assert main(["template", "tables"]) == 0  # the repository's own template is in step


def test_tables_command_reports_unusable_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unmarked = tmp_path / "template.yaml"
    unmarked.write_text("Resources: {}\n")
    assert main(["template", "tables", "--template", str(unmarked)]) == 2
    assert "marker lines are missing" in capsys.readouterr().err
    assert main(["template", "tables", "--template", str(tmp_path / "absent.yaml")]) == 2


def test_a_partition_column_missing_from_its_schema_is_refused() -> None:
    broken = Table("broken", T.StructType([T.StructField("a", T.StringType())]), "usage_date", "x")
    with pytest.raises(ValueError, match="partition column usage_date"):
        glue_tables.catalog_columns(broken)
    upper = Table("upper", T.StructType([T.StructField("Usage", T.StringType())]), "Usage", "x")
    with pytest.raises(ValueError, match="lower case"):
        glue_tables.catalog_columns(upper)
