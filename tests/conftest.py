"""pytest's side of the suite: the markers of tests/needs.py, which test is running, and the
processes and threads a test must not leave behind."""

import os
import threading

import pytest

from tests import needs

# An unmarked test slower than this is named at the end of a run that left the marked ones out.
SLOW_SECONDS = 5.0
_slow_unmarked = []
# Helpers a library keeps for the whole process on purpose, not a test's to stop.
KEPT_PROCESSES = ("multiprocessing.resource_tracker",)


def pytest_configure(config):
    """Register the markers, so that a misspelt one is an error (--strict-markers)."""
    for mark, meaning in needs.MARKS.items():
        config.addinivalue_line("markers", "%s: %s" % (mark, meaning))


def pytest_collection_modifyitems(config, items):
    """Tests that start real parts form one pytest-xdist group: under ``--dist loadgroup`` (make
    test) they run one after another on one worker while the other worker runs the rest, so two
    buildouts or two PostgreSQL clusters never compete and the timings they check stay true."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if any(item.get_closest_marker(mark) for mark in needs.MARKS):
            item.add_marker(pytest.mark.xdist_group("real-parts"))


def children():
    """The live (not zombie) child processes of this process: {pid: command line}."""
    found, me = {}, str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if fields[1] != me or fields[0] == "Z":
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                found[int(entry)] = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def threads():
    """This process's threads but the reactor's pool workers: their names."""
    return {t.name for t in threading.enumerate()
            if not t.name.startswith("PoolThread-twisted.internet.reactor")}


def pytest_runtest_setup(item):
    """Let the helpers see the running test's markers (tests.needs.declared); note what runs."""
    needs.current = item
    item._slapgate_before = (set(children()), threads())


def pytest_runtest_teardown(item):
    """The test is over: a process or a thread it started and left running is its error."""
    needs.current = None
    before = getattr(item, "_slapgate_before", None)
    if before is None:
        return
    left = {pid: command for pid, command in children().items()
            if pid not in before[0] and not any(kept in command for kept in KEPT_PROCESSES)}
    running = threads() - before[1]
    if left or running:
        raise AssertionError("the test left behind %s%s (stop what a test starts in addCleanup, "
                             "by its process id)" % (
                                 "".join("process %d (%s) " % item for item in left.items()),
                                 "".join("thread %r " % name for name in sorted(running))))


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
