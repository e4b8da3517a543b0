"""Upstream SlapOS tools, the demo release and the benchmarks against slapgate, end to end."""
