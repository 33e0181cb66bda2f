"""Local preview of the QuickSight dashboard: the committed definition rendered over local Parquet tables.

The datasets are evaluated with DuckDB (``datasets.py``), the dashboard's fields, calculated fields and
filters are planned into small pre-aggregated cubes (``plan.py``, ``cubes.py``), and one offline HTML page
re-aggregates those cubes in the browser as filters and parameters change (``assets/report.js``).
"""
