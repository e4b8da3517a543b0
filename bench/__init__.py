"""Benchmarks of the master (issue 8): ``make bench`` runs ``python -m bench.run``."""
