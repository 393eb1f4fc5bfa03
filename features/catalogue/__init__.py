"""The feature catalogue: every feature declared once, with its formula and its wording.

One module per feature group (text, timing, process, account, context); the registry
(:mod:`features.registry`) joins them in this order.
"""
