"""The migration-validation harness: same inputs through gen2 and gen3, compared.

Depends on ``compat`` and ``diffim``; nothing depends on it.
"""
