"""``slapgate admin ticket``: support answers a customer's ticket from a shell."""

import contextlib
import io
import json
import os

from twisted.trial import unittest

from gateway import cli
from gateway.config import ConfigError, load
from slap_core.master import Master
from slap_core.principals import ComputerAgent, User
from tests.fixtures import SR, format_configuration


class TicketCommandTests(unittest.TestCase):
    """alice has a tree "blog" and a ticket about it; the admin works it from the shell."""

    def setUp(self):
        self.database = os.path.abspath(self.mktemp()) + ".sqlite"
        master = Master(self.database)
        master.upgrade()
        self.addCleanup(master.close)
        admin, alice = User("admin", {"admin"}), User("alice")
        master.call("computer.create", admin, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 1))
        master.call("supply.supply", admin, url=SR, computer="COMP-0")
        master.call("instance.request", alice, title="blog", software_release=SR)
        self.reference = master.call("ticket.create", alice, title="blog down", tree="blog",
                                     text="It answers 502.").reference

    def admin(self, *arguments):
        return slapgate_admin("--db", self.database, *arguments)

    def test_support_works_a_ticket_from_the_shell(self):
        code, listed, _ = self.admin("ticket", "list")
        self.assertEqual((code, [(t["reference"], t["requester"]) for t in listed]),
                         (0, [(self.reference, "alice")]))
        log = os.path.abspath(self.mktemp()) + ".txt"
        with open(log, "wb") as handle:
            handle.write(b"upstream timed out\n")
        code, ticket, _ = self.admin("ticket", "reply", self.reference, "--text",
                                     "The backend was restarted; see the log.", "--attach", log)
        self.assertEqual((code, ticket["turn"]), (0, "customer"))
        self.assertEqual(ticket["messages"][1]["attachment_type"], "text/plain")
        out = os.path.abspath(self.mktemp())
        code, written, _ = self.admin("ticket", "attachment", self.reference, "2", "--out", out)
        self.assertEqual(code, 0)
        with open(written["file"], "rb") as handle:
            self.assertEqual(handle.read(), b"upstream timed out\n")
        code, ticket, _ = self.admin("ticket", "assign", self.reference, "--to", "admin")
        self.assertEqual(ticket["assignee"], "admin")
        code, ticket, _ = self.admin("ticket", "close", self.reference, "--text", "Solved.")
        self.assertEqual((ticket["state"], len(ticket["messages"])), ("closed", 3))
        self.assertEqual(self.admin("ticket", "list")[1], [])
        self.assertEqual(len(self.admin("ticket", "list", "--all", "--user", "alice")[1]), 1)
        code, ticket, _ = self.admin("ticket", "reopen", self.reference)
        self.assertEqual(ticket["state"], "open")
        code, ticket, _ = self.admin("ticket", "open", "--user", "alice", "--tree", "blog",
                                     "--kind", "monitoring", "--title", "blog restarted",
                                     "--text", "We restarted it at 10:00.")
        self.assertEqual((code, ticket["requester"], ticket["turn"]), (0, "alice", "customer"))

    def test_refusals_are_one_line(self):
        code, _, err = self.admin("ticket", "show", "TICKET-404")
        self.assertEqual(code, cli.EXIT_ERROR)
        self.assertEqual(err, "slapgate: not_found: no ticket 'TICKET-404'\n")
        code, _, err = self.admin("ticket", "attachment", self.reference, "1")
        self.assertIn("has no attachment", err)

    def test_the_attachment_limit_is_configured(self):
        path = os.path.abspath(self.mktemp()) + ".ini"
        for value, accepted in (("10", True), ("0", True), ("3000001", False), ("x", False)):
            with open(path, "w") as handle:
                handle.write("[master]\nticket_attachment_limit = %s\n" % value)
            if accepted:
                self.assertEqual(load(path).ticket_attachment_limit, int(value))
            else:
                self.assertRaises(ConfigError, load, path)
        big = os.path.abspath(self.mktemp())
        with open(big, "wb") as handle:
            handle.write(b"x" * 11)
        with open(path, "w") as handle:
            handle.write("[master]\nticket_attachment_limit = 10\n")
        code, _, err = slapgate_admin("--config", path, "--db", self.database, "ticket",
                                      "reply", self.reference, "--text", "big", "--attach", big)
        self.assertEqual((code, err.strip()), (
            cli.EXIT_ERROR, "slapgate: invalid: an attachment is at most 10 bytes, this one "
                            "has 11"))


def slapgate_admin(*arguments):
    """``slapgate admin ARGUMENTS``: (exit code, its JSON output or None, its errors)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["admin", *arguments])
    return code, json.loads(out.getvalue()) if out.getvalue() else None, err.getvalue()


class SignupCommandTests(unittest.TestCase):
    """``slapgate admin signup``: an admin decides the requests of an approval master."""

    def test_list_accept_reject(self):
        from slap_core.principals import Anonymous
        from slap_core.signups import SignupSettings

        database = os.path.abspath(self.mktemp()) + ".sqlite"
        master = Master(database, signup=SignupSettings(mode="approval"))
        master.upgrade()
        self.addCleanup(master.close)
        first, second = (master.call("signup.request", Anonymous(), login=login,
                                     email=login + "@example.org", password="long-secret")
                         for login in ("frank", "grace"))
        config = os.path.abspath(self.mktemp()) + ".ini"
        with open(config, "w") as handle:
            handle.write("[signup]\nmode = approval\n")

        def admin(*arguments):
            return slapgate_admin("--config", config, "--db", database, *arguments)

        code, listed, _ = admin("signup", "list", "--state", "pending")
        self.assertEqual((code, [s["login"] for s in listed]), (0, ["grace", "frank"]))
        self.assertEqual(admin("signup", "accept", first.reference)[1]["state"], "accepted")
        code, rejected, _ = admin("signup", "reject", second.reference, "--reason", "spam")
        self.assertEqual((rejected["state"], rejected["reason"]), ("rejected", "spam"))
        self.assertEqual(master.call("person.get", User("admin", {"admin"}),
                                     login="frank").roles, ("user",))
        code, _, err = admin("signup", "accept", second.reference)
        self.assertEqual((code, err.split(":")[1].strip()), (cli.EXIT_ERROR, "conflict"))
