"""The operations report: support metrics from the event log against their targets, context
loss at handoffs, drift and alert precision, rendered as one self-contained HTML page.

- :mod:`training.report.metrics`  ticket and handoff tables, the metrics of any subset;
- :mod:`training.report.context`  context loss by sentence-embedding similarity;
- :mod:`training.report.drift`    PSI against a registered model's training window;
- :mod:`training.report.build`    the report dict (overall, monthly, review views);
- :mod:`training.report.render`   plots, HTML and JSON.
"""
