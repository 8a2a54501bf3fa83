"""Sameboat: open-source, self-hostable peer support."""

__version__ = "0.1.0"
