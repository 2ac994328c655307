"""Documentation tooling: the generated parts of the docs pages (not installed)."""
