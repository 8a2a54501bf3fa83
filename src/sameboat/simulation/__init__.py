"""Simulations on a fake clock that print figures: `sameboat simulate dispatch` (see docs/dispatch.md)."""
