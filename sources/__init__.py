"""Data sources: everything that produces the support-data tables (features.schema).

``sources.synthetic`` simulates a support organisation with ground truth; ``sources.adapters``
reads real exports (XES event logs, ServiceNow incident logs) into the same four tables.
"""
