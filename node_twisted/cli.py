"""``slapgate node [run] --cfg FILE [--once]`` and ``slapgate node status --cfg FILE``.

Without ``--once`` the agent runs cycles until SIGTERM/SIGINT; with it, one cycle whose exit code
is slapgrid's (0 done, 1 failed, 2 a promise failed, 3 offline). Either way the agent first checks
what it needs (:mod:`node_twisted.preflight`) and exits 2 saying what is missing. ``status`` prints what the agent
using that configuration is doing (its progress file): releases building, partitions deploying,
with the tail of their output.
"""

import json
import sys

from node_twisted import config as node_config
from node_twisted import preflight

EXIT_USAGE = 2


def add_parser(commands):
    """Add the ``node`` sub-command to the ``slapgate`` parser's ``commands``."""
    node = commands.add_parser("node", help="run the node agent (software, instances, reports)")
    node.add_argument("--cfg", required=True, metavar="FILE",
                      help="slapos.cfg with [slapos] (and [slapformat]) sections")
    node.add_argument("action", nargs="?", choices=("run", "status"), default="run",
                      help="run the agent (default) or print its progress")
    node.add_argument("--once", action="store_true", help="run one cycle, then exit")
    node.add_argument("--lines", type=int, default=10, metavar="N",
                      help="status: the last N lines of each build's output (default 10)")
    node.add_argument("--json", action="store_true", help="status: the progress file as JSON")
    add_log_level(node)
    return node


LOG_LEVELS = ("debug", "info", "warn", "error")


def add_log_level(parser):
    """The ``--log-level`` option (default info: changes and problems; debug adds every poll)."""
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="the least important log lines written (default info; debug adds "
                        "every routine poll)")


def start_logging(level="info", stream=None):
    """Write log events of ``level`` and above to ``stream`` (stdout), as text lines."""
    from twisted.logger import (FilteringLogObserver, LogLevel, LogLevelFilterPredicate,
                                globalLogBeginner, textFileLogObserver)

    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    observer = FilteringLogObserver(textFileLogObserver(stream or sys.stdout), [predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


def status(settings, args):
    """Print the progress the agent of ``settings`` last wrote; 0, or 1 when there is none."""
    from node_twisted import progress

    try:
        document = progress.read(settings.progress_file)
    except (OSError, ValueError) as error:
        print("slapgate node: cannot read %s: %s" % (settings.progress_file, error),
              file=sys.stderr)
        return 1
    if document is None:
        print("slapgate node: no progress yet (%s): the agent has not run a cycle"
              % settings.progress_file, file=sys.stderr)
        return 1
    if args.json:
        json.dump(document, sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        sys.stdout.write(progress.render(document, lines=args.lines))
    return 0


def foreign_master(master_url, served):
    """Why a node polling ``master_url`` is not attached to the master serving the base URLs
    ``served`` (its SLAP is at ``<base>slap/``), or None when it polls that master."""
    from urllib.parse import urlsplit

    def where(url):
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = "127.0.0.1" if host == "localhost" else host
        return parts.scheme, host, parts.port, parts.path.rstrip("/")

    if where(master_url) in {where(base + "slap/") for base in served}:
        return None
    return ("the node polls master_url = %s, not this master, whose SLAP is at %s: its cycles "
            "go to another master (or none); set master_url to one of these"
            % (master_url, ", ".join(base + "slap/" for base in served)))


def attach(reactor, settings):
    """Run a node agent with ``settings`` (a NodeConfig) in this process (``master --node``).

    The agent's cycles start when the reactor runs and stop before it shuts down. What the node
    lacks (:mod:`node_twisted.preflight`) is logged, without stopping the master.
    """
    from twisted.logger import Logger

    from node_twisted.agent import NodeAgent

    for problem in preflight.problems(settings):
        Logger(namespace="slapgate.node").warn("node agent: {problem}", problem=problem)
    agent = NodeAgent(reactor, settings)
    agent.serve_progress()
    reactor.callWhenRunning(agent.run_forever)
    reactor.addSystemEventTrigger("before", "shutdown", agent.stop)
    return agent


def run(args):
    """Run the agent as ``args`` say; returns the exit code."""
    from twisted.internet import defer, reactor
    from twisted.logger import Logger

    from node_twisted.agent import NodeAgent
    from node_twisted.slap_client import CredentialsError

    try:
        settings = node_config.load(args.cfg)
        if args.action == "status":
            return status(settings, args)
        agent = NodeAgent(reactor, settings)
    except (node_config.ConfigError, CredentialsError) as error:
        print("slapgate node: configuration error: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    problems = preflight.problems(settings)
    if problems:
        print("slapgate node: cannot start:\n  %s" % "\n  ".join(problems), file=sys.stderr)
        return EXIT_USAGE
    start_logging(getattr(args, "log_level", "info"))
    log = Logger(namespace="slapgate.node")
    try:
        agent.serve_progress()
    except Exception as error:  # the port is taken...: said, not a traceback
        print("slapgate node: cannot serve the progress page: %s" % error, file=sys.stderr)
        return 1
    outcome = {"code": 0}

    @defer.inlineCallbacks
    def once():
        try:
            result = yield agent.run_cycle()
            outcome["code"] = result.exit_code
            log.info("node cycle: exit {code}; software {software}; instances {instances}; "
                     "destroyed {destroyed}; problems {problems}", code=result.exit_code,
                     software=result.software, instances=result.instances,
                     destroyed=result.destroyed, problems=result.problems)
        finally:
            reactor.stop()

    if args.once:
        reactor.callWhenRunning(once)
    else:
        reactor.callWhenRunning(agent.run_forever)
        reactor.addSystemEventTrigger("before", "shutdown", agent.stop)
    reactor.run()
    return outcome["code"]
