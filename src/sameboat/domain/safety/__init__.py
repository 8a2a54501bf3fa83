"""Safety: crisis resources (data) now; risk assessment comes with the safety engine."""
