"""Data quality: the Glue Data Quality rulesets of template.yaml, parsed and evaluated without Glue.

``dqdl`` parses DQDL, ``evaluate`` runs a ruleset on a DataFrame, ``results`` holds Glue-shaped
results, ``rulesets`` reads the rulesets from the template and ``tables`` runs them on the cost tables.
"""
