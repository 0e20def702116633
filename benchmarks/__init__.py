"""pystmark's benchmark suite: ``python -m benchmarks`` (see docs/benchmarks.rst).

Nothing is imported here, so a worker process's import workload is not skewed.
"""
