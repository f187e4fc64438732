"""On-demand benchmarks: ``python -m bench NAME [--quick]``; each ends with one JSON line of figures."""
