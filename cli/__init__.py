"""The `escalation-risk` command line: the composition root that wires every package together.

Nothing in features/, models/, sources/, training/ or serving/ imports it (an import contract in
pyproject.toml enforces the layers).
"""
