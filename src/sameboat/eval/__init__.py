"""Evaluation of Sameboat's models on public, labelled data that is never shipped with the package."""
