"""The authorization matrix: every slap_core operation x every kind of caller.

One scenario is built once (alice owns computer COMP-A and an instance tree deployed on it; the
admin owns COMP-B), copied for every cell, and each operation is called by each principal. A cell
is *refused* when the call raises Forbidden, Unauthenticated or NotFound (how slap_core hides what
a caller may not see); anything else means authorization let it through. The table must name every
registered operation, so a new operation cannot land without its row.
"""

import os
import shutil

from twisted.trial import unittest

from slap_core import errors
from slap_core.master import Master, load_all
from slap_core.sync_secrets import md5_b64, md5_response
from tests.authorization_scenario import PRINCIPALS, RETIRED_SR, SCHEMA_SR, build_scenario
from tests.fixtures import SR, format_configuration

USERS = {"alice", "bob", "admin", "operator"}
AUTHENTICATED = set(PRINCIPALS) - {"anonymous"}
NODE_A = {"computer_a", "partition_a", "admin"}

JOURNAL = (
    "<journal><transaction type='Sale Packing List'><start_date>2026-11-01</start_date>"
    "<stop_date>2026-11-02</stop_date><reference>COMP-A</reference><currency>EUR</currency>"
    "<payment_mode/><arrow type='Destination'/><movement><resource>cpu</resource>"
    "<reference>slappart0</reference><quantity>1</quantity><price>0</price><VAT/></movement>"
    "</transaction></journal>"
)


def _node(operation_arguments):
    return dict(computer="COMP-A", partition="slappart0", **operation_arguments)


# operation -> (arguments, principals allowed)
CASES = {
    "person.create": (dict(login="newcomer", password="x"), {"admin"}),
    "person.set_password": (dict(login="alice", password="new"), {"alice", "admin"}),
    "person.list": ({}, {"admin"}),
    "person.me": ({}, USERS),
    "sync.get": (dict(device="phone-1", store="contacts"), USERS),
    "sync.set_secret": (dict(secret="a-syncml-secret"), USERS),
    "sync.check_md5": (dict(login="alice", nonce="Tm9uY2U=", response=md5_response(
        md5_b64(b"alice:alice-syncml"), b"Nonce")), set(PRINCIPALS)),
    "sync.record": (dict(device="phone-1", store="contacts", client_anchor="1",
                         server_anchor="2"), USERS),
    "ticket.create": (dict(title="help", text="please"), USERS),
    "ticket.list": ({}, USERS),
    "ticket.get": (dict(reference="<ticket>"), {"alice", "admin"}),
    "ticket.post": (dict(reference="<ticket>", text="more"), {"alice", "admin"}),
    "ticket.assign": (dict(reference="<ticket>", assignee="admin"), {"admin"}),
    "ticket.close": (dict(reference="<ticket>"), {"alice", "admin"}),
    "ticket.reopen": (dict(reference="<ticket>"), {"alice", "admin"}),
    "ticket.attachment": (dict(reference="<ticket>", message=1), {"alice", "admin"}),
    "ticket.monitor": (dict(idle_after=86400), {"admin"}),
    # the scenario's master takes no sign-up: refused to all, and the key is unknown
    "signup.request": (dict(login="newbie", email="newbie@example.org",
                            password="newbie-secret"), set()),
    "signup.confirm": (dict(key="no-such-key"), set()),
    "signup.list": ({}, {"admin"}),
    "signup.accept": (dict(reference="<signup>"), {"admin"}),
    "signup.reject": (dict(reference="<signup>", reason="no"), {"admin"}),
    "outbox.pending": ({}, {"admin"}),
    "outbox.record_attempt": (dict(number="<mail>"), {"admin"}),
    "person.get": (dict(login="alice"), {"alice", "admin"}),
    "person.update": (dict(login="alice", full_name="Alice A."), {"alice", "admin"}),
    "person.check_password": (dict(login="alice", password="alice-secret"), set(PRINCIPALS)),
    "catalogue.add_release": (dict(url=SR, product="demo"), {"admin", "operator"}),
    "catalogue.remove_release": (dict(url=RETIRED_SR), {"admin", "operator"}),
    "catalogue.list_products": ({}, AUTHENTICATED),
    "catalogue.list_releases": ({}, AUTHENTICATED),
    "catalogue.get_product": (dict(product="retired"), AUTHENTICATED),
    "catalogue.get_release": (dict(url=SR), AUTHENTICATED),
    "catalogue.product_release_urls": (dict(url=SR), AUTHENTICATED),
    "computer.create": (dict(reference="COMP-NEW"), USERS),
    "computer.update": (dict(reference="COMP-A", title="A"), {"alice", "admin", "operator"}),
    "computer.get": (dict(reference="COMP-A"),
                     {"alice", "admin", "operator", "computer_a", "partition_a"}),
    "computer.list": ({}, USERS),
    "computer.format": (dict(reference="COMP-A",
                             configuration=format_configuration("COMP-A", 4)),
                        {"computer_a", "admin"}),
    "computer.information": (dict(reference="COMP-A"), {"computer_a", "admin"}),
    "computer.partition": (dict(reference="COMP-A", partition="slappart0"), NODE_A),
    "computer.bang": (dict(reference="COMP-A"), {"computer_a", "admin"}),
    "computer.status": (dict(reference="COMP-A"), {"alice", "admin", "operator", "computer_a"}),
    "computer.revisions": (dict(references=["COMP-A"]), {"computer_a", "admin"}),
    "supply.supply": (dict(url=SR, computer="COMP-A"), {"alice", "admin", "operator"}),
    "supply.list": (dict(computer="COMP-A"),
                    {"alice", "admin", "operator", "computer_a", "partition_a"}),
    "supply.get": (dict(computer="COMP-A", url=SR),
                   {"alice", "admin", "operator", "computer_a", "partition_a"}),
    "supply.report": (dict(url=SR, computer="COMP-A", state="building"),
                      {"computer_a", "admin"}),
    "instance.request": (dict(title="another", software_release=SR),
                         USERS | {"partition_a"}),
    "instance.get": (dict(reference="<root>"), {"alice", "admin", "computer_a", "partition_a"}),
    "instance.list": ({}, USERS),
    "instance.allocate_pending": ({}, {"admin"}),
    "tree.list": ({}, USERS),
    "tree.get": (dict(title="root"), {"alice", "admin"}),
    "instance.change": (dict(reference="<root>", parameters={"colour": "blue"}), {"alice"}),
    "instance.destroy": (dict(reference="<root>"), {"alice", "admin"}),
    "instance.report_started": (_node({}), NODE_A),
    "instance.report_stopped": (_node({}), NODE_A),
    "instance.report_error": (_node(dict(message="boom")), NODE_A),
    "instance.report_destroyed": (_node({}), NODE_A),
    "instance.set_connection": (_node(dict(connection={"url": "http://x"})), NODE_A),
    "instance.bang": (_node(dict(message="again")), NODE_A),
    "instance.rename": (_node(dict(new_name="renamed")), NODE_A),
    "instance.hosting_ip_list": (_node({}), NODE_A),
    "pricing.set": (dict(currency="EUR", vat_rate="20", subscriptions=[{"monthly": "10.00"}]),
                    {"admin"}),
    "pricing.get": ({}, AUTHENTICATED),
    "catalogue.release_schema": (dict(url=SCHEMA_SR), AUTHENTICATED),
    "subscription.list": (dict(login="alice"), {"alice", "admin"}),
    "consumption.current": (dict(login="alice"), {"alice", "admin"}),
    "billing.set_profile": (dict(login="alice", country="FR"), {"alice", "admin"}),
    "billing.get_profile": (dict(login="alice"), {"alice", "admin"}),
    "billing.set_seller": (dict(legal_name="Hosting SAS", country="FR"), {"admin"}),
    "billing.get_seller": ({}, AUTHENTICATED),
    "invoice.generate": (dict(period="2020-01"), {"admin"}),
    "invoice.list": (dict(login="alice"), {"alice", "admin"}),
    "invoice.get": (dict(number="<invoice>"), {"alice", "admin"}),
    "invoice.document": (dict(number="<invoice>", format="html"), {"alice", "admin"}),
    "invoice.record_payment": (dict(number="<invoice>", reference="SEPA-1"), {"admin"}),
    "invoice.credit": (dict(number="<invoice>", reason="a mistake"), {"admin"}),
    "usage.report": (dict(computer="COMP-A", document=JOURNAL), {"computer_a", "admin"}),
    "usage.list": (dict(computer="COMP-A"), {"alice", "admin", "operator", "computer_a"}),
    "certificate.issue": (dict(kind="computer", computer="COMP-A"),
                          {"alice", "admin", "operator", "computer_a"}),
    "certificate.revoke": (dict(serial="<certificate>"), {"alice", "admin", "computer_a"}),
    "certificate.list": ({}, USERS | {"computer_a", "computer_b"}),
    "certificate.authenticate": (dict(serial="<certificate>", common_name="COMP-A"),
                                 set(PRINCIPALS)),
    "certificate.revoked_list": ({}, set(PRINCIPALS)),
    "token.create": (dict(label="another script"), USERS),
    "token.list": ({}, USERS),
    "token.revoke": (dict(reference="<token>"), {"alice", "admin"}),
    "token.authenticate": (dict(token="<token_secret>"), set(PRINCIPALS)),
}
# What the gateway calls before it knows who is calling.
OPEN_TO_ANYONE = {"person.check_password", "certificate.authenticate", "certificate.revoked_list",
                  "token.authenticate", "sync.check_md5", "signup.request", "signup.confirm"}

REFUSALS = (errors.Forbidden, errors.NotFound)
# Arguments standing for what build_template made.
PLACEHOLDERS = ("<root>", "<certificate>", "<token>", "<token_secret>", "<invoice>",
                "<ticket>", "<signup>", "<mail>")


def resolve(arguments, scenario):
    """``arguments`` with the placeholders (see PLACEHOLDERS) filled in."""
    return {key: (scenario.values[value[1:-1]] if value in PLACEHOLDERS else value)
            for key, value in arguments.items()}


def core_outcome(path, name, principal, arguments):
    """"allowed", "refused:<error code> (...)" or "invalid arguments: ..." of one call.

    The scenario's template is copied to ``path`` and the operation called there.
    """
    shutil.copyfile(build_scenario().path, path)
    master = Master(path)
    try:
        master.call(name, principal, **arguments)
        return "allowed"
    except REFUSALS as error:
        return "refused:%s (%s)" % (error.code, error)
    except errors.Invalid as error:
        return "invalid arguments: %s" % error
    except errors.SlapError:
        return "allowed"  # authorization passed; the state said no (e.g. Conflict)
    finally:
        master.close()


class AuthorizationMatrixTests(unittest.TestCase):
    """Each test checks one operation against every principal."""

    def test_matrix_names_every_registered_operation(self):
        self.assertEqual(sorted(load_all()), sorted(CASES))

    def test_matrix_refuses_anonymous_everywhere_except_login(self):
        for name, (_, allowed) in CASES.items():
            if name not in OPEN_TO_ANYONE:
                self.assertNotIn("anonymous", allowed, name)

    def check(self, name):
        """Call ``name`` as every principal on a fresh copy of the scenario."""
        scenario = build_scenario()
        arguments, allowed = CASES[name]
        arguments = resolve(arguments, scenario)
        mismatches = []
        for who, principal in PRINCIPALS.items():
            outcome = core_outcome(os.path.abspath(self.mktemp()), name, principal, arguments)
            expected = "allowed" if who in allowed else "refused"
            if not outcome.startswith(expected):
                mismatches.append("%s: expected %s, got %s" % (who, expected, outcome))
        self.assertEqual(mismatches, [], "%s: %s" % (name, "; ".join(mismatches)))


def _make_test(name):
    def test(self):
        self.check(name)

    test.__name__ = "test_%s_authorization" % name.replace(".", "_")
    test.__doc__ = "Who may call %s." % name
    return test


for _name in CASES:
    setattr(AuthorizationMatrixTests, "test_%s_authorization" % _name.replace(".", "_"),
            _make_test(_name))
