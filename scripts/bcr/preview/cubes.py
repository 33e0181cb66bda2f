"""Query the planned cubes and encode them compactly: one sorted dictionary per grouping column, rows as
indexes into it, aggregates as numbers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from bcr.preview.datasets import DatasetView
from bcr.preview.plan import ISO, CubeRegistry


def json_value(value: Any) -> Any:
    if isinstance(value, dict):  # a histogram: [value, count] pairs in value order
        return [[json_value(key), count] for key, count in sorted(value.items())]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return float(f"{value:.15g}")
    if isinstance(value, datetime):
        return value.strftime(ISO)
    return value


def run_cubes(con: duckdb.DuckDBPyConnection, registry: CubeRegistry, views: dict[str, DatasetView]) -> dict[str, Any]:
    """Query every cube; dimension values go into one sorted dictionary per column, rows hold indexes."""
    results = []
    values: dict[str, set[Any]] = {}
    for cube in registry.cubes:
        dims, measures = list(cube.dims), sorted(cube.measures)
        select = [f"{registry.dim_sql[d]} AS {d}" for d in dims] + [
            f"{registry.measure_sql[m]} AS {m}" for m in measures
        ]
        group = " GROUP BY ALL" if dims and measures else ""
        distinct = "DISTINCT " if dims and not measures else ""
        rows = con.execute(f"SELECT {distinct}{', '.join(select)} FROM {views[cube.dataset].view}{group}").fetchall()
        for position, key in enumerate(dims):
            values.setdefault(key, set()).update(json_value(row[position]) for row in rows)
        results.append((cube, dims, measures, rows))
    dictionaries = {
        key: sorted(found, key=lambda v: (v is None, str(type(v)), v if v is not None else 0))
        for key, found in values.items()
    }
    index = {key: {value: i for i, value in enumerate(entries)} for key, entries in dictionaries.items()}
    cubes = []
    for cube, dims, measures, rows in results:
        columns: dict[str, list[Any]] = {}
        for position, key in enumerate(dims):
            columns[key] = [index[key][json_value(row[position])] for row in rows]
        for offset, key in enumerate(measures, start=len(dims)):
            columns[key] = [json_value(row[offset]) for row in rows]
        cubes.append({"dataset": cube.dataset, "rows": len(rows), "columns": columns})
    return {"cubes": cubes, "dictionaries": dictionaries}
