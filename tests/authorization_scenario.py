"""The scenario of the authorization matrices, built once per process into an SQLite template.

alice owns computer COMP-A and an instance tree deployed on it (its root on slappart0, which
requested a child); the admin owns COMP-B. bob, olivia (operator) and the admin are local users
too, each with a password, so that the wire matrix can log in as them. The master's CA lives in
the template's state directory: certificates issued here (one to revoke, and the client
certificates of COMP-A, COMP-B and COMP-A's slappart0) are valid on every master started on a
copy of the template with that state directory.
"""

import atexit
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from unittest import mock

from sqlalchemy import text

from gateway.ca import CertificateAuthority
from slap_core import passwords
from slap_core.billing import period_of
from slap_core.master import Master
from slap_core.principals import Anonymous, ComputerAgent, PartitionAgent, User
from slap_core.signups import SIGNUP, SignupSettings
from tests.fixtures import SR, format_configuration

ADMIN = User("admin", {"admin"})
ALICE = User("alice")
PRINCIPALS = {
    "anonymous": Anonymous(),
    "alice": ALICE,
    "bob": User("bob"),
    "admin": ADMIN,
    "operator": User("olivia", {"operator"}),
    "computer_a": ComputerAgent("COMP-A"),
    "computer_b": ComputerAgent("COMP-B"),
    "partition_a": PartitionAgent("COMP-A", "slappart0"),
}
# Local users of the template, by principal name: (login, password, roles).
PASSWORDS = {
    "alice": ("alice", "alice-secret", ()),
    "bob": ("bob", "bob-secret", ()),
    "admin": ("admin", "admin-secret", ("admin",)),
    "operator": ("olivia", "olivia-secret", ("operator",)),
}
# Principals that call with a client certificate: what the certificate is issued for.
CERTIFICATES = {
    "computer_a": dict(kind="computer", computer="COMP-A"),
    "computer_b": dict(kind="computer", computer="COMP-B"),
    "partition_a": dict(kind="partition", computer="COMP-A", partition="slappart0"),
}


@dataclass
class Scenario:
    """The built template: database file, state directory (with the CA) and named values."""

    path: str
    state_dir: str
    values: dict = field(default_factory=dict)  # "root", "certificate", "token"... -> values
    client_certificates: dict = field(default_factory=dict)  # principal -> (cert, key) files

    @property
    def ca_file(self):
        """The CA certificate clients verify the master with."""
        return os.path.join(self.state_dir, "ca", "ca.crt")


_built = {}


RETIRED_SR = "http://example.invalid/retired/software.cfg"
SCHEMA_SR = "http://example.invalid/described/software.cfg"  # with a parameter schema
PAST = 1577836800.0  # 2020-01-01T00:00Z


def build_scenario():
    """Build the scenario once per process; returns the Scenario."""
    if "scenario" in _built:
        return _built["scenario"]
    from gateway.cli import write_credentials

    directory = tempfile.mkdtemp(prefix="slapgate-authz-")
    atexit.register(shutil.rmtree, directory, True)
    path = os.path.join(directory, "template.sqlite")
    state_dir = os.path.join(directory, "state")
    master = Master(path, authority=CertificateAuthority.open(os.path.join(state_dir, "ca")))
    master.upgrade()
    # The wire matrix logs in hundreds of times on fresh masters (no login cache): its users'
    # hashes are stored with a cheap scrypt cost; checking them runs the same code.
    cost, passwords._N = passwords._N, 2**8
    try:
        for login, password, roles in PASSWORDS.values():
            master.call("person.create", ADMIN, login=login, password=password,
                        roles=list(roles))
    finally:
        passwords._N = cost
    for owner, reference in ((ALICE, "COMP-A"), (ADMIN, "COMP-B")):
        master.call("computer.create", owner, reference=reference)
        master.call("computer.format", ComputerAgent(reference), reference=reference,
                    configuration=format_configuration(reference, 4))
        master.call("supply.supply", owner, url=SR, computer=reference)
    root = master.call("instance.request", ALICE, title="root", software_release=SR,
                       sla={"computer_guid": "COMP-A"})
    assert (root.computer, root.partition) == ("COMP-A", "slappart0"), root
    master.call("instance.request", PRINCIPALS["partition_a"], title="child",
                software_release=SR, sla={"computer_guid": "COMP-A"})
    # A price list in force since PAST: months that ended since can be invoiced.
    with mock.patch("slap_core.pricing.now", return_value=PAST):
        master.call("pricing.set", ADMIN, currency="EUR", vat_rate="20", effective_from=PAST,
                    subscriptions=[{"monthly": "40.00"}])
    # A catalogue entry nothing uses: what catalogue.remove_release may take out.
    master.call("catalogue.add_release", ADMIN, url=RETIRED_SR, product="retired")
    master.call("catalogue.add_release", ADMIN, url=SCHEMA_SR, schema=json.dumps({
        "software-type": {"default": {"request": {"type": "object"}}}}))
    master.call("pricing.set", ADMIN, currency="EUR", vat_rate="20",
                subscriptions=[{"monthly": "42.00"}], usage=[
                    {"resource": "cpu_time", "unit": "s", "unit_price": "0.0001"}])
    scenario = Scenario(path, state_dir)
    scenario.values["root"] = root.reference
    master.call("billing.set_seller", ADMIN, legal_name="Hosting SAS", country="FR")
    master.call("billing.set_profile", ALICE, country="FR")
    master.call("sync.set_secret", ALICE, secret="alice-syncml")
    # one sign-up, unconfirmed, whose mail waits in the outbox (sign-up open for it only)
    master.storage.session_info[SIGNUP] = SignupSettings(mode="approval", mail=True)
    scenario.values["signup"] = master.call(
        "signup.request", Anonymous(), login="newcomer-2", email="newcomer@example.org",
        password="newcomer-secret").reference
    del master.storage.session_info[SIGNUP]
    (scenario.values["mail"],) = [m.number for m in master.call("outbox.pending", ADMIN)]
    scenario.values["ticket"] = master.call(
        "ticket.create", ALICE, title="root is slow", text="It answers in seconds.", tree="root",
        attachment=b"a log", attachment_name="root.log").reference
    # alice's invoice for this month, issued as if the month had ended
    month = period_of(time.time())
    with mock.patch("slap_core.invoices.now", return_value=month.end):
        (scenario.values["invoice"],) = master.call("invoice.generate", ADMIN,
                                                    period=month.name).issued
    scenario.values["certificate"] = master.call("certificate.issue", ADMIN, kind="computer",
                                                 computer="COMP-A").serial
    token = master.call("token.create", ALICE, label="script")
    scenario.values["token"], scenario.values["token_secret"] = token.reference, token.secret
    for who, arguments in CERTIFICATES.items():
        view = master.call("certificate.issue", ADMIN, **arguments)
        written = write_credentials(os.path.join(directory, "clients"), who, view)
        scenario.client_certificates[who] = (written["cert_file"], written["key_file"])
    with master.storage.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    master.close()
    _built["scenario"] = scenario
    return scenario


def build_template():
    """The template database's path (see :func:`build_scenario`)."""
    return build_scenario().path
