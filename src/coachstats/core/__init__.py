"""Core vocabulary shared by every stage: errors, result objects, formatting, goal sets, units."""
