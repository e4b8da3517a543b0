"""Usage: each partition's ``etc/report`` scripts, gathered into one TioXML journal (spec 3.4).

Every executable of ``<partition>/etc/report`` runs with one argument, a file path in the
partition's ``var/xml_report/``, where it writes a ``partition_consumption.xsd`` document. The
movements of every such document (their ``reference`` set to the partition id) make one
``computer_consumption.xsd`` journal, posted with ``useComputer``; the files are then deleted.
The journal's period starts when the previous one was sent (``var/.slapgate-usage-sent``).
Documents in ``<instance_root>/var/xml_report/<computer_id>/`` are posted as they are.
A document that does not validate is renamed ``*.invalid`` and left out.
"""

import copy
import os
import time

from lxml import etree
from twisted.internet import defer, threads
from twisted.logger import Logger

import schemas
from node_twisted import processes
from node_twisted.slap_client import MasterUnreachable, SlapClientError
from slap_core import errors, safe_xml

REPORT_TIMEOUT = 60


def _xml_files(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names if n.endswith(".xml")]


def _set_aside(path, log, error):
    log.warn("usage file {path} left out: {error}", path=path, error=error)
    os.replace(path, path + ".invalid")


def collect_movements(partition_paths, log):
    """(movements, files): the validated movement elements of every partition, and their files."""
    movements, files = [], []
    for partition_id, path in partition_paths:
        for name in _xml_files(os.path.join(path, "var", "xml_report")):
            try:
                with open(name, "rb") as handle:
                    root = safe_xml.parse(handle.read(), what="usage report")
                safe_xml.validate(root, schemas.path("partition_consumption.xsd"),
                                  "usage report")
            except (OSError, errors.Invalid) as error:
                _set_aside(name, log, error)
                continue
            for movement in root.findall("movement"):
                movement = copy.deepcopy(movement)
                reference = movement.find("reference")
                if reference is None:
                    reference = etree.Element("reference")
                    title = movement.find("title")
                    (title if title is not None else movement.find("resource")).addnext(reference)
                reference.text = partition_id
                movements.append(movement)
            files.append(name)
    return movements, files


def _date(moment):
    return time.strftime("%Y-%m-%d at %H:%M:%S", time.localtime(moment))


def journal(computer_id, movements, start, stop):
    """The TioXML journal (bytes) carrying ``movements`` measured from ``start`` to ``stop``."""
    root = etree.Element("journal")
    transaction = etree.SubElement(root, "transaction", type="Sale Packing List")
    for tag, text in (("title", "Resource consumptions"), ("start_date", _date(start)),
                      ("stop_date", _date(stop)), ("reference", computer_id), ("currency", ""),
                      ("payment_mode", ""), ("category", "")):
        etree.SubElement(transaction, tag).text = text
    arrow = etree.SubElement(transaction, "arrow", type="Administration")
    etree.SubElement(arrow, "source")
    etree.SubElement(arrow, "destination")
    transaction.extend(movements)
    safe_xml.validate(root, schemas.path("computer_consumption.xsd"), "usage journal")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


class UsageReporter:
    """Runs report scripts and sends what they measured."""

    log = Logger()

    def __init__(self, reactor, config, client, deployer):
        self.reactor = reactor
        self.config = config
        self.client = client
        self.deployer = deployer

    @defer.inlineCallbacks
    def process(self, partitions):
        """Run the scripts of every partition holding an instance; how many movements were sent."""
        busy = [p for p in partitions if p.software_release_url is not None
                and p.requested_state != "destroyed"
                and os.path.isdir(self.deployer.path(p.partition_id))]
        for partition in busy:
            yield self._run_scripts(partition)
        paths = [(p.partition_id, self.deployer.path(p.partition_id)) for p in busy]
        movements, files = yield threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), collect_movements, paths, self.log)
        sent, accepted = 0, True
        if movements:
            now = self.reactor.seconds()
            stamp_file = os.path.join(self.config.instance_root, "var", ".slapgate-usage-sent")
            try:
                start = os.path.getmtime(stamp_file)
            except OSError:
                start = now
            document = journal(self.config.computer_id, movements, start, now)
            accepted = yield self._send(document.decode("utf-8"))
            if accepted:
                sent = len(movements)
                os.makedirs(os.path.dirname(stamp_file), exist_ok=True)
                with open(stamp_file, "w"):
                    pass
                os.utime(stamp_file, (now, now))
        for name in files:  # a refused journal is kept aside, not sent again and again
            if accepted:
                os.unlink(name)
            else:
                os.replace(name, name + ".refused")
        computer_dir = os.path.join(self.config.instance_root, "var", "xml_report",
                                    self.config.computer_id)
        for name in _xml_files(computer_dir):
            with open(name, encoding="utf-8") as handle:
                yield self._send(handle.read())
            os.unlink(name)
        return sent

    @defer.inlineCallbacks
    def _send(self, text):
        try:
            yield self.client.use_computer(text)
        except MasterUnreachable:
            raise
        except SlapClientError as error:
            self.log.warn("usage refused by the master: {error}", error=error)
            return False
        return True

    @defer.inlineCallbacks
    def _run_scripts(self, partition):
        path = self.deployer.path(partition.partition_id)
        directory = os.path.join(path, "etc", "report")
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        output_dir = os.path.join(path, "var", "xml_report")
        os.makedirs(output_dir, exist_ok=True)
        info = os.stat(path)
        env = self.deployer.environment(partition)
        for name in names:
            script = os.path.join(directory, name)
            if not (os.path.isfile(script) and os.access(script, os.X_OK)):
                continue
            target = os.path.join(output_dir, "%s-%d.xml" % (name, int(self.reactor.seconds())))
            result = yield processes.run(self.reactor, [script, target], path, env,
                                         timeout=REPORT_TIMEOUT, uid=info.st_uid,
                                         gid=info.st_gid)
            if not result.ok:
                self.log.warn("report script {script} failed: {tail}", script=script,
                              tail=result.tail(500))
