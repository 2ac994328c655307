"""Presenting results: figures, tables, and the HTML report."""
