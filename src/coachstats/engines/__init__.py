"""Engines that run analysis plans on data that need not fit in memory: streamed chunks and Dask."""
