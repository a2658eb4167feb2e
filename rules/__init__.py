"""dlgen lint rules: one module per rule, loaded by file path (dlgen/lint.py)."""
