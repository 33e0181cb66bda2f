"""Turn Amazon Bedrock model invocation logs into a priced, tagged cost ledger.

Plain PySpark and Python only: the same stages run in the Glue job, in a Glue interactive
session and on a laptop. Only ``glue/bedrock_cost_etl.py`` touches ``awsglue``.
"""
