"""Support tickets in the core: who sees and does what, whose turn it is, attachments."""

import base64

from slap_core import errors
from slap_core.principals import User
from slap_core.tickets import ATTACHMENT_LIMIT
from tests.fixtures import MasterTestCase


class TicketTests(MasterTestCase):
    """ticket.create, list, get, post, assign, close, reopen and attachment."""

    def setUp(self):
        super().setUp()
        self.sam = User("sam", {"support"})
        self.call("person.create", self.admin, login="sam", roles=["support"])
        self.make_computer("COMP-A", owner=self.alice)
        self.root = self.request(self.alice, "shop", sla={"computer_guid": "COMP-A"})

    def open(self, principal=None, **arguments):
        arguments.setdefault("title", "memcached does not answer")
        arguments.setdefault("text", "Since this morning, connections time out.")
        return self.call("ticket.create", principal or self.alice, **arguments)

    def test_a_ticket_about_a_tree_opens_on_the_operators_turn(self):
        ticket = self.open(tree="shop", kind="complaint")
        self.assertTrue(ticket.reference.startswith("TICKET-"))
        self.assertEqual((ticket.kind, ticket.state, ticket.turn, ticket.requester,
                          ticket.tree, ticket.instance, ticket.computer, ticket.assignee),
                         ("complaint", "open", "operator", "alice", "shop",
                          self.root.reference, None, None))
        (message,) = ticket.messages
        self.assertEqual((message.number, message.author, message.text, message.attachment_name),
                         (1, "alice", "Since this morning, connections time out.", None))

    def test_the_turn_follows_the_messages(self):
        ticket = self.open()
        answered = self.call("ticket.post", self.sam, reference=ticket.reference,
                             text="Could you send the log?")
        self.assertEqual(answered.turn, "customer")
        again = self.call("ticket.post", self.alice, reference=ticket.reference,
                          text="Here it is.", attachment=b"line 1\nline 2\n",
                          attachment_name="memcached.log", attachment_type="text/plain")
        self.assertEqual(again.turn, "operator")
        self.assertEqual([(m.number, m.author) for m in again.messages],
                         [(1, "alice"), (2, "sam"), (3, "alice")])
        self.assertEqual((again.messages[2].attachment_name, again.messages[2].attachment_size),
                         ("memcached.log", 14))
        self.assertGreaterEqual(again.updated_at, ticket.updated_at)

    def test_attachments_as_bytes_or_base64_within_the_limit(self):
        ticket = self.open(attachment=base64.b64encode(b"\x00\x01binary").decode(),
                           attachment_name="dump.bin")
        document = self.call("ticket.attachment", self.sam, reference=ticket.reference,
                             message=1)
        self.assertEqual((document.content, document.filename, document.media_type),
                         (b"\x00\x01binary", "dump.bin", "application/octet-stream"))
        self.master.storage.session_info[ATTACHMENT_LIMIT] = 10
        with self.assertRaisesRegex(errors.Invalid, "at most 10 bytes, this one has 11"):
            self.call("ticket.post", self.alice, reference=ticket.reference, text="more",
                      attachment=b"x" * 11)
        for bad in ("not base64!", "QUJD\n===="):
            self.assertRaises(errors.Invalid, self.call, "ticket.post", self.alice,
                              reference=ticket.reference, text="more", attachment=bad)
        self.assertRaises(errors.Invalid, self.call, "ticket.post", self.alice,
                          reference=ticket.reference, text="more", attachment=b"x",
                          attachment_name="../etc/passwd")
        self.assertRaises(errors.Invalid, self.call, "ticket.post", self.alice,
                          reference=ticket.reference, text="more", attachment_name="a.txt")
        for message in (2, 0, -1, "1"):
            self.assertRaises((errors.NotFound, errors.Invalid), self.call, "ticket.attachment",
                              self.alice, reference=ticket.reference, message=message)
        # nothing refused was kept
        self.assertEqual(len(self.call("ticket.get", self.alice,
                                       reference=ticket.reference).messages), 1)

    def test_others_see_nothing(self):
        ticket = self.open()
        for name, arguments in (("ticket.get", {}), ("ticket.post", dict(text="me too")),
                                ("ticket.close", {}), ("ticket.attachment", dict(message=1))):
            self.assertRaises(errors.NotFound, self.call, name, self.bob,
                              reference=ticket.reference, **arguments)
        self.assertEqual(self.call("ticket.list", self.bob), [])
        self.assertRaises(errors.Forbidden, self.call, "ticket.list", self.bob, login="alice")
        self.assertRaises(errors.NotFound, self.call, "ticket.get", self.alice,
                          reference="TICKET-999")

    def test_a_subject_must_be_the_requesters(self):
        self.assertRaises(errors.NotFound, self.open, self.bob, tree="shop")
        self.assertRaises(errors.NotFound, self.open, self.bob, computer="COMP-A")
        self.assertRaises(errors.NotFound, self.open, computer="COMP-NONE")
        self.assertRaises(errors.Invalid, self.open, tree="shop", computer="COMP-A")
        self.assertEqual(self.open(computer="COMP-A").computer, "COMP-A")
        # support opens for a customer, about the customer's tree
        ticket = self.open(self.sam, login="alice", tree="shop", kind="monitoring",
                           title="shop is failing", text="We saw errors; we look into it.")
        self.assertEqual((ticket.requester, ticket.tree, ticket.messages[0].author),
                         ("alice", "shop", "sam"))
        self.assertEqual(ticket.turn, "customer")
        self.assertRaises(errors.Forbidden, self.open, self.bob, login="alice")
        self.assertRaises(errors.NotFound, self.open, self.sam, login="nobody")

    def test_kinds_titles_and_texts(self):
        for kind in ("monitoring", "acknowledgement"):
            self.assertRaises(errors.Forbidden, self.open, kind=kind)
        for kind in ("other", "", 3):
            self.assertRaises(errors.Invalid, self.open, self.sam, kind=kind)
        self.assertEqual(self.open(self.sam, kind="acknowledgement").kind, "acknowledgement")
        for title in ("", "   ", "a\nb", "x" * 256, 42):
            self.assertRaises(errors.Invalid, self.open, title=title)
        for text in ("", "  \n", "a\x00b", "x" * (64 * 1024 + 1)):
            self.assertRaises(errors.Invalid, self.open, text=text)
        self.assertEqual(self.open().kind, "information")
        self.assertEqual(len(self.call("ticket.list", self.alice)), 1)

    def test_support_lists_everyones_and_the_customer_their_own(self):
        first = self.open(title="first")
        self.open(self.bob, title="bob's")
        self.assertEqual({t.title for t in self.call("ticket.list", self.sam)},
                         {"first", "bob's"})
        self.assertEqual([t.title for t in self.call("ticket.list", self.sam, login="bob")],
                         ["bob's"])
        (mine,) = self.call("ticket.list", self.alice)
        self.assertEqual((mine.reference, mine.message_count), (first.reference, 1))
        self.call("ticket.close", self.alice, reference=first.reference, text="Works again.")
        self.assertEqual(self.call("ticket.list", self.alice), [])
        (closed,) = self.call("ticket.list", self.alice, include_closed=True)
        self.assertEqual((closed.state, closed.message_count), ("closed", 2))
        self.assertRaises(errors.NotFound, self.call, "ticket.list", self.sam, login="nobody")

    def test_close_and_reopen(self):
        ticket = self.open()
        closed = self.call("ticket.close", self.sam, reference=ticket.reference)
        self.assertEqual((closed.state, len(closed.messages)), ("closed", 1))
        self.assertIsNotNone(closed.closed_at)
        self.assertRaises(errors.Conflict, self.call, "ticket.close", self.alice,
                          reference=ticket.reference)
        self.assertRaises(errors.Conflict, self.call, "ticket.post", self.alice,
                          reference=ticket.reference, text="still broken")
        reopened = self.call("ticket.reopen", self.alice, reference=ticket.reference,
                             text="Still broken.")
        self.assertEqual((reopened.state, reopened.turn, reopened.closed_at,
                          len(reopened.messages)), ("open", "operator", None, 2))
        self.assertRaises(errors.Conflict, self.call, "ticket.reopen", self.alice,
                          reference=ticket.reference)

    def test_assign_to_support_or_an_admin(self):
        ticket = self.open()
        self.assertEqual(self.call("ticket.assign", self.sam, reference=ticket.reference,
                                   assignee="sam").assignee, "sam")
        self.call("person.create", self.admin, login="root", roles=["admin"])
        self.assertEqual(self.call("ticket.assign", self.admin, reference=ticket.reference,
                                   assignee="root").assignee, "root")
        self.assertRaises(errors.Invalid, self.call, "ticket.assign", self.sam,
                          reference=ticket.reference, assignee="alice")
        self.assertRaises(errors.NotFound, self.call, "ticket.assign", self.sam,
                          reference=ticket.reference, assignee="nobody")
        self.assertRaises(errors.Forbidden, self.call, "ticket.assign", self.alice,
                          reference=ticket.reference, assignee="sam")
        self.assertIsNone(self.call("ticket.assign", self.sam,
                                    reference=ticket.reference).assignee)


class TicketMailTests(MasterTestCase):
    """With mail, each message is mailed to the other side."""

    def test_the_other_side_is_mailed(self):
        from slap_core.signups import SIGNUP, SignupSettings

        self.master.storage.session_info[SIGNUP] = SignupSettings(
            mail=True, public_url="https://cloud.example.org")
        self.call("person.create", self.admin, login="alice", email="alice@example.org")
        self.call("person.create", self.admin, login="sam", email="sam@example.org",
                  roles=["support"])
        sam = User("sam", {"support"})
        ticket = self.call("ticket.create", self.alice, title="slow", text="Why?")
        self.assertEqual(self.call("outbox.pending", self.admin), [])  # nobody assigned yet
        self.call("ticket.assign", sam, reference=ticket.reference, assignee="sam")
        self.call("ticket.post", sam, reference=ticket.reference, text="Which page?")
        self.call("ticket.post", self.alice, reference=ticket.reference, text="The home page.")
        mails = self.call("outbox.pending", self.admin)
        self.assertEqual([(m.recipient, m.subject) for m in mails],
                         [("alice@example.org", "[%s] slow" % ticket.reference),
                          ("sam@example.org", "[%s] slow" % ticket.reference)])
        self.assertIn("sam wrote on %s:\n\nWhich page?" % ticket.reference, mails[0].body)
        self.assertIn("https://cloud.example.org/tickets/" + ticket.reference, mails[0].body)
