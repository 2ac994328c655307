"""Statistical comparisons of two arms; every function returns a ComparisonResult."""
