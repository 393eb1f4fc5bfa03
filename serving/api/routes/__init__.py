"""The routers, one per resource (operations, scoring, model, feedback)."""
