"""slapgate's test suite: twisted.trial TestCases, run with pytest (CI) or trial."""
