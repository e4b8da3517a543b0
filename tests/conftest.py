"""pytest's side of the suite: the markers of tests/needs.py, and which test is running."""

from tests import needs

# An unmarked test slower than this is named at the end of a run that left the marked ones out.
SLOW_SECONDS = 5.0
_slow_unmarked = []


def pytest_configure(config):
    """Register the markers, so that a misspelt one is an error (--strict-markers)."""
    for mark, meaning in needs.MARKS.items():
        config.addinivalue_line("markers", "%s: %s" % (mark, meaning))


def pytest_runtest_setup(item):
    """Let the helpers see the running test's markers (tests.needs.declared)."""
    needs.current = item


def pytest_runtest_teardown(item):
    """The test is over: no test is running until the next setup."""
    needs.current = None


def pytest_runtest_logreport(report):
    """Note an unmarked test slower than SLOW_SECONDS (on the controller under pytest-xdist)."""
    if report.when == "call" and report.duration > SLOW_SECONDS:
        if not any(mark in report.keywords for mark in needs.MARKS):
            _slow_unmarked.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter, config):
    """Name the unmarked slow tests: `make check` should stay within its two minutes."""
    slow = _slow_unmarked
    if slow:
        terminalreporter.section("unmarked tests slower than %d s" % SLOW_SECONDS)
        for duration, nodeid in sorted(slow, reverse=True):
            terminalreporter.write_line("%6.1f s  %s (make it faster, or mark what it needs: "
                                        "tests/needs.py)" % (duration, nodeid))
