"""Utilities: gradient checking."""
