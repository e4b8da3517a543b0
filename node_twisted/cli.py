"""``slapgate node --cfg FILE [--once]``: the node agent's command line.

Without ``--once`` the agent runs cycles until SIGTERM/SIGINT; with it, one cycle whose exit code
is slapgrid's (0 done, 1 failed, 2 a promise failed, 3 offline).
"""

import sys

from node_twisted import config as node_config

EXIT_USAGE = 2


def add_parser(commands):
    """Add the ``node`` sub-command to the ``slapgate`` parser's ``commands``."""
    node = commands.add_parser("node", help="run the node agent (software, instances, reports)")
    node.add_argument("--cfg", required=True, metavar="FILE",
                      help="slapos.cfg with [slapos] (and [slapformat]) sections")
    node.add_argument("--once", action="store_true", help="run one cycle, then exit")
    return node


def attach(reactor, settings):
    """Run a node agent with ``settings`` (a NodeConfig) in this process (``master --node``).

    The agent's cycles start when the reactor runs and stop before it shuts down.
    """
    from node_twisted.agent import NodeAgent

    agent = NodeAgent(reactor, settings)
    reactor.callWhenRunning(agent.run_forever)
    reactor.addSystemEventTrigger("before", "shutdown", agent.stop)
    return agent


def run(args):
    """Run the agent as ``args`` say; returns the exit code."""
    from twisted.internet import defer, reactor
    from twisted.logger import Logger, globalLogBeginner, textFileLogObserver

    from node_twisted.agent import NodeAgent
    from node_twisted.slap_client import CredentialsError

    try:
        settings = node_config.load(args.cfg)
        agent = NodeAgent(reactor, settings)
    except (node_config.ConfigError, CredentialsError) as error:
        print("slapgate node: configuration error: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)], redirectStandardIO=False)
    log = Logger(namespace="slapgate.node")
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
