"""What a test needs, declared with a pytest marker, and the check that it declared it.

A test that starts an expensive real part says so with a marker on its class (or a module's
``pytestmark``), so that ``make check`` can leave it out by what it needs rather than by file
lists. The helpers that start those parts call ``declared(testcase, mark)``: under pytest, a test
that starts one without the marker fails at once, naming the marker to add. Under plain trial
(``make trial``) there is no marker to read, and nothing is checked.
"""

MARKS = {
    "node": "builds releases with zc.buildout and deploys them (a node agent, ours or upstream's)",
    "upstream": "runs the upstream node (slapos node ...) or the slapos CLI",
    "postgres": "starts the tests' PostgreSQL cluster",
    "browser": "drives Chromium through selenium",
    "syncevolution": "runs Debian's SyncEvolution, a real SyncML client",
    "slow": "takes more than a few seconds for another reason",
}

# What `make check` leaves out: every test that needs one of these.
CHECK_EXCLUDES = "not (node or upstream or postgres or browser or syncevolution or slow)"

# The pytest item being run, set by tests/conftest.py around each test.
current = None


def declared(testcase, mark):
    """Fail ``testcase`` unless the running test carries the marker ``mark``."""
    if mark not in MARKS:
        raise ValueError("unknown test marker %r (known: %s)" % (mark, ", ".join(MARKS)))
    item = current
    if item is None or item.get_closest_marker(mark) is not None:
        return
    testcase.fail("%s %s: mark its class @pytest.mark.%s (tests/needs.py)"
                  % (item.nodeid, MARKS[mark], mark))
