"""QuickSight dashboards as code: the committed definitions, their validation, export and deploy."""
