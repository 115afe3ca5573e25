"""Operator registry, policies, NumPy fallback and call statistics."""
