"""The agent's progress: which releases are building, which partitions deploying, with the tail
of their buildout output, kept in memory and written as JSON for ``slapgate node status``.

The file (``<instance_root>/.slapgate-node-progress.json``) is replaced atomically (a temporary
file renamed over it) on each change of state, and at most every :data:`OUTPUT_DELAY` seconds
while output arrives. It holds the agent's pid, the running cycle and its phase, and one entry per
release (by URL) and per partition (by id): its state (``building``/``deploying`` while at work,
then the outcome), when it started and ended, and its last lines of output. Entries stay after
they end, so the file tells what the last cycle did.
"""

import codecs
import collections
import json
import os
import time

TAIL_LINES = 40
OUTPUT_DELAY = 0.5
WORKING = ("building", "deploying")


class _Entry:
    """One release or partition: state, times and output tail (complete lines, then the
    unfinished last line)."""

    def __init__(self, state, lines):
        self.state = state
        self.started = time.time()
        self.ended = None
        self.tail = collections.deque(maxlen=lines)
        self.partial = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data):
        text = self.partial + self.decoder.decode(data).replace("\r\n", "\n").replace("\r", "\n")
        *complete, self.partial = text.split("\n")
        self.tail.extend(complete)

    def as_dict(self):
        lines = list(self.tail) + ([self.partial] if self.partial else [])
        return {"state": self.state, "started": self.started, "ended": self.ended,
                "log": lines[-self.tail.maxlen:]}


class Progress:
    """What the agent is doing now; ``path`` None keeps it in memory only."""

    def __init__(self, reactor, path, lines=TAIL_LINES):
        self.reactor = reactor
        self.path = path
        self.lines = lines
        self.cycle = {"state": "idle", "phase": None, "started": None, "ended": None}
        self.entries = {"releases": {}, "partitions": {}}
        self._pending = None

    def cycle_started(self):
        """A cycle begins."""
        self.cycle = {"state": "running", "phase": None, "started": time.time(), "ended": None}
        self.write()

    def phase(self, name):
        """The running cycle enters phase ``name`` (format, software, instances...)."""
        self.cycle["phase"] = name
        self.write()

    def cycle_ended(self, exit_code):
        """The cycle ended with slapgrid's ``exit_code``."""
        self.cycle.update(state="idle", phase=None, ended=time.time(), exit_code=exit_code)
        self.write()

    def begin(self, kind, key, state):
        """Release or partition (``kind`` ``releases``/``partitions``) ``key`` starts ``state``
        (``building``, ``deploying``, ``removing``...)."""
        self.entries[kind][key] = _Entry(state, self.lines)
        self.write()

    def output(self, kind, key):
        """A callable feeding output bytes to the tail of ``key`` (a no-op once it is gone)."""
        def feed(data):
            entry = self.entries[kind].get(key)
            if entry is not None:
                entry.feed(data)
                self._write_soon()
        return feed

    def end(self, kind, key, state):
        """``key`` is done; ``state`` is its outcome (``available``, ``started``, ``error``...)."""
        entry = self.entries[kind].get(key)
        if entry is None:
            entry = self.entries[kind][key] = _Entry(state, self.lines)
        entry.state = state
        entry.ended = time.time()
        self.write()

    def snapshot(self):
        """The progress as the JSON document the file holds."""
        return {
            "pid": os.getpid(), "updated": time.time(), "cycle": dict(self.cycle),
            "releases": {key: entry.as_dict() for key, entry in self.entries["releases"].items()},
            "partitions": {key: entry.as_dict()
                           for key, entry in self.entries["partitions"].items()},
        }

    def _write_soon(self):
        if self.path is not None and self._pending is None:
            self._pending = self.reactor.callLater(OUTPUT_DELAY, self.write)

    def write(self):
        """Replace the file with the current progress (a failure to write is not the cycle's)."""
        if self._pending is not None:
            if self._pending.active():
                self._pending.cancel()
            self._pending = None
        if self.path is None:
            return
        temporary = "%s.%d.tmp" % (self.path, os.getpid())
        try:
            with open(temporary, "w") as handle:
                json.dump(self.snapshot(), handle)
            os.replace(temporary, self.path)
        except OSError:
            pass


def read(path):
    """The progress document at ``path``; None when there is none."""
    try:
        with open(path) as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return None
    return document if isinstance(document, dict) else None


def _duration(seconds):
    seconds = int(max(0, seconds))
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(seconds, 60)
    return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)


def _clock(epoch):
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render(document, lines=10, now=None):
    """``document`` as text for a person: the cycle, then each release and partition with its
    state, elapsed time and last ``lines`` lines of output."""
    now = time.time() if now is None else now
    out = []
    cycle = document.get("cycle") or {}
    pid = document.get("pid")
    agent = "agent pid %s (%s)" % (pid, "running" if isinstance(pid, int) and _alive(pid)
                                   else "not running")
    if cycle.get("state") == "running":
        out.append("%s: cycle running for %s (since %s), phase %s" % (
            agent, _duration(now - cycle["started"]), _clock(cycle["started"]),
            cycle.get("phase") or "-"))
    elif cycle.get("ended"):
        out.append("%s: idle, last cycle ended %s (exit %s)" % (
            agent, _clock(cycle["ended"]), cycle.get("exit_code")))
    else:
        out.append("%s: no cycle yet" % agent)
    for kind, title in (("releases", "Software releases"), ("partitions", "Partitions")):
        entries = document.get(kind) or {}
        out.append("")
        out.append("%s:%s" % (title, "" if entries else " none"))
        for key in sorted(entries):
            entry = entries[key]
            if entry.get("ended"):
                when = "done %s, took %s" % (_clock(entry["ended"]),
                                             _duration(entry["ended"] - entry["started"]))
            else:
                when = "for %s" % _duration(now - entry["started"])
            out.append("  %-10s %-28s %s" % (entry.get("state"), "(%s)" % when, key))
            for line in (entry.get("log") or [])[-lines:] if lines > 0 else []:
                out.append("      | " + line)
    return "\n".join(out) + "\n"
