"""One supervisord for all partitions, driven over its XML-RPC unix socket (spec section 5.5).

The node writes ``<instance_root>/etc/supervisord.conf`` and one
``etc/supervisord.conf.d/<partition>.conf`` per partition (a group of programs, one per executable
of the partition's ``etc/run`` and, named ``<name>-on-watch``, ``etc/service``), in upstream
slapgrid's layout and keys. supervisord is started as a daemon with an empty environment when its
socket does not answer; configuration changes are applied with ``reloadConfig`` and the group
calls, as slapgrid does.
"""

import io
import os
import pwd
import xmlrpc.client

from twisted.internet import defer, endpoints, task
from twisted.logger import Logger
from twisted.web import client, http_headers
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from node_twisted import processes
from node_twisted.files import write_if_changed
from node_twisted.http_body import read_body
from node_twisted.slap_client import QuietClientFactory

WATCHDOG_MARK = "-on-watch"
BAD_NAME = 10
ALREADY_STARTED = 60
NOT_RUNNING = 70
START_TIMEOUT = 30


class SupervisorError(Exception):
    """supervisord could not be started or refused a call."""


def paths(instance_root):
    """The supervisord files under ``instance_root``: a dict of named paths."""
    return {
        "conf": os.path.join(instance_root, "etc", "supervisord.conf"),
        "conf.d": os.path.join(instance_root, "etc", "supervisord.conf.d"),
        "log": os.path.join(instance_root, "var", "log", "supervisord.log"),
        "pid": os.path.join(instance_root, "var", "run", "supervisord.pid"),
    }


def main_configuration(instance_root, socket):
    """The text of ``supervisord.conf`` (slapgrid's template, without the watchdog listener)."""
    where = paths(instance_root)
    return (
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        "[include]\nfiles = %(confd)s/*.conf\n\n"
        "[supervisorctl]\nserverurl = unix://%(socket)s\n\n"
        "[supervisord]\nloglevel = info\nlogfile = %(log)s\nlogfile_maxbytes = 50MB\n"
        "nodaemon = false\npidfile = %(pid)s\nlogfile_backups = 10\n\n"
        "[unix_http_server]\nfile=%(socket)s\nchmod=0700\n"
        % {"confd": where["conf.d"], "socket": socket, "log": where["log"], "pid": where["pid"]})


def _program(partition_id, partition_path, name, command, uid, gid):
    entry = pwd.getpwuid(uid)
    program_id = "%s_%s" % (partition_id, name)
    return "\n".join([
        "[program:%s]" % program_id,
        "directory=%s" % partition_path,
        "command=%s" % command,
        "process_name=%s" % name,
        "autostart=false",
        "autorestart=false",
        "startsecs=0",
        "startretries=0",
        "exitcodes=0",
        "stopsignal=TERM",
        "stopwaitsecs=60",
        "stopasgroup=true",
        "killasgroup=true",
        "user=%s" % uid,
        "group=%s" % gid,
        "serverurl=AUTO",
        "redirect_stderr=true",
        "stdout_logfile=%s/.%s.log" % (partition_path, program_id),
        "stdout_logfile_maxbytes=100KB",
        "stdout_logfile_backups=1",
        "stderr_logfile=%s/.%s.log" % (partition_path, program_id),
        "stderr_logfile_maxbytes=100KB",
        "stderr_logfile_backups=1",
        'environment=USER="%s",LOGNAME="%s",HOME="%s"' % (entry.pw_name, entry.pw_name,
                                                          entry.pw_dir),
        "",
    ]) + "\n"


def _executables(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [n for n in names if os.path.isfile(os.path.join(directory, n))
            and os.access(os.path.join(directory, n), os.X_OK)]


def partition_configuration(partition_id, partition_path, uid, gid):
    """The group file of a partition, or None when it has nothing to run."""
    programs = []
    for subdirectory, suffix in (("run", ""), ("service", WATCHDOG_MARK)):
        directory = os.path.join(partition_path, "etc", subdirectory)
        for name in _executables(directory):
            programs.append((name + suffix, os.path.join(directory, name)))
    if not programs:
        return None
    text = "[group:%s]\nprograms=%s\n\n" % (
        partition_id, ",".join("%s_%s" % (partition_id, name) for name, _ in programs))
    for name, command in programs:
        text += _program(partition_id, partition_path, name, command, uid, gid)
    return text


@implementer(IAgentEndpointFactory)
class _UnixSocket:
    def __init__(self, reactor, path):
        self.reactor = reactor
        self.path = path

    def endpointForURI(self, uri):
        return endpoints.UNIXClientEndpoint(self.reactor, self.path, timeout=10)


class Supervisor:
    """The node's supervisord: its files, its process and its XML-RPC calls."""

    log = Logger()

    def __init__(self, reactor, config):
        self.reactor = reactor
        self.config = config
        self.socket = config.supervisord_socket
        self.paths = paths(config.instance_root)
        pool = client.HTTPConnectionPool(reactor, persistent=False)
        pool._factory = QuietClientFactory  # no "Starting factory" line per call
        self.agent = client.Agent.usingEndpointFactory(reactor, _UnixSocket(reactor, self.socket),
                                                       pool=pool)
        self.launched = False

    @defer.inlineCallbacks
    def call(self, method, *args):
        """``supervisor.<method>(*args)``; xmlrpc.client.Fault for supervisord's faults."""
        body = xmlrpc.client.dumps(args, "supervisor." + method, allow_none=False).encode()
        request = self.agent.request(
            b"POST", b"http://127.0.0.1/RPC2",
            http_headers.Headers({b"Content-Type": [b"text/xml"]}),
            client.FileBodyProducer(io.BytesIO(body)))
        request.addTimeout(60, self.reactor)
        response = yield request
        data = yield read_body(response)
        if response.code != 200:
            raise SupervisorError("supervisord answered HTTP %d to %s" % (response.code, method))
        return xmlrpc.client.loads(data.decode("utf-8"))[0][0]

    def write_main_configuration(self):
        """Create the directories and ``supervisord.conf`` (mode 0600)."""
        root = self.config.instance_root
        os.makedirs(os.path.join(root, "var"), mode=0o755, exist_ok=True)
        for directory in (os.path.join(root, "var", "log"), os.path.join(root, "var", "run"),
                          os.path.join(root, "etc")):
            os.makedirs(directory, exist_ok=True)
        os.makedirs(self.paths["conf.d"], mode=0o700, exist_ok=True)
        write_if_changed(self.paths["conf"], main_configuration(root, self.socket))

    @defer.inlineCallbacks
    def state(self):
        """supervisord's state name, or None when its socket does not answer."""
        try:
            info = yield self.call("getState")
        except Exception as error:  # no socket, connection refused or lost, a fault...
            self.log.debug("supervisord not answering: {error}", error=error)
            return None
        return info.get("statename")

    @defer.inlineCallbacks
    def ensure_running(self):
        """Start supervisord unless it answers; True when it was started now."""
        self.write_main_configuration()
        if (yield self.state()) == "RUNNING":
            return False
        if self.config.forbid_supervisord_automatic_launch:
            raise SupervisorError("supervisord is not running and may not be launched")
        self.log.info("starting supervisord ({conf})", conf=self.paths["conf"])
        result = yield processes.run(self.reactor, [self.config.supervisord, "-c",
                                                    self.paths["conf"]],
                                     self.config.instance_root, {}, timeout=START_TIMEOUT)
        if not result.ok:
            raise SupervisorError("supervisord failed to start (%s):\n%s" % (
                result.exit_code, result.tail()))
        deadline = self.reactor.seconds() + START_TIMEOUT
        while (yield self.state()) != "RUNNING":
            if self.reactor.seconds() > deadline:
                raise SupervisorError("supervisord did not come up in %d s" % START_TIMEOUT)
            yield task.deferLater(self.reactor, 0.1, lambda: None)
        self.launched = True
        return True

    def group_file(self, partition_id):
        """The path of a partition's group file."""
        return os.path.join(self.paths["conf.d"], partition_id + ".conf")

    def write_partition(self, partition_id, partition_path, uid, gid):
        """Write (or delete, when nothing runs) a partition's group file."""
        text = partition_configuration(partition_id, partition_path, uid, gid)
        path = self.group_file(partition_id)
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            write_if_changed(path, text)

    def remove_partition(self, partition_id):
        """Delete a partition's group file."""
        try:
            os.unlink(self.group_file(partition_id))
        except FileNotFoundError:
            pass

    @defer.inlineCallbacks
    def update(self):
        """Apply the group files: reloadConfig, then stop/remove/add groups as they changed."""
        added, changed, removed = (yield self.call("reloadConfig"))[0]
        for group in removed + changed:
            yield self._ignore(BAD_NAME, NOT_RUNNING)("stopProcessGroup", group)
            yield self._ignore(BAD_NAME)("removeProcessGroup", group)
        for group in changed + added:
            yield self._ignore()("addProcessGroup", group)

    def _ignore(self, *codes):
        @defer.inlineCallbacks
        def call(method, *args):
            try:
                result = yield self.call(method, *args)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode not in codes:
                    raise
                return None
            return result
        return call

    @defer.inlineCallbacks
    def start_partition(self, partition_id):
        """Start a partition's group (nothing to start is fine)."""
        yield self._ignore(BAD_NAME)("startProcessGroup", partition_id, False)

    @defer.inlineCallbacks
    def stop_partition(self, partition_id):
        """Stop a partition's processes and forget its group."""
        self.remove_partition(partition_id)
        yield self.update()

    @defer.inlineCallbacks
    def processes(self):
        """{``group:name``: state name} of every process supervisord knows."""
        infos = yield self.call("getAllProcessInfo")
        return {"%s:%s" % (i["group"], i["name"]): i["statename"] for i in infos}

    def start_all(self):
        """Start every process (offline mode)."""
        return self.call("startAllProcesses", False)
