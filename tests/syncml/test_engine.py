"""The SyncML engine's sessions, driven message by message by a test client."""

import base64
from unittest import mock

from protocols.syncml.contacts import ContactsStore
from protocols.syncml.engine import Engine
from protocols.syncml.instances import read_item
from protocols.syncml.vcard import Card, format_card, parse
from slap_core.principals import Anonymous, User
from tests.fixtures import SR, MasterTestCase
from tests.syncml.client import Answer, EngineClient, alert, change, map_items, sync
from tests.syncml.client import el

ALICE_CARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice Martin\r\n"
              "EMAIL:alice@new.example\r\nEND:VCARD\r\n")


class EngineTestCase(MasterTestCase):
    """A master with alice (user) and the admin, and an engine checking local passwords."""

    def setUp(self):
        super().setUp()
        self.call("person.create", self.admin, login="admin", password="admin-secret",
                  roles=["admin"], full_name="Site Admin")
        self.call("person.create", self.admin, login="alice", password="alice-secret",
                  full_name="Alice", email="alice@example.org")
        self.engine = Engine(self.master, self.authenticate, version="test")

    def authenticate(self, login, password):
        person = self.master.call("person.check_password", Anonymous(), login=login,
                                  password=password)
        return User(person.login, set(person.roles))

    def device(self, user="alice", password="alice-secret", **settings):
        return EngineClient(self.engine, user=user, password=password, **settings)

    def first_sync(self, client, cards=(), code=201, next_="c1"):
        """A whole first (slow) session: init, the device's cards, maps; the server's items."""
        init = client.send(alert(code, next_=next_))
        self.assertEqual(init.header_status(), 212)
        answer = client.send(sync(*[change("Add", luid, text) for luid, text in cards]))
        items = answer.items()
        maps = [(guid, "dev-" + guid) for kind, guid, _, _ in items if kind == "Add"]
        if items:
            done = client.send(map_items(maps))
            self.assertTrue(done.final)
        return init, answer, items


class AuthenticationTests(EngineTestCase):
    """Credentials in the SyncHdr."""

    def test_missing_credentials_get_407_and_a_basic_challenge(self):
        answer = self.device(user=None).send(alert(200))
        self.assertEqual(answer.statuses(), [("SyncHdr", "0", 407, "test-device"),
                                             ("Alert", "1", 407, "")])
        chal = answer.root.find(".//{SYNCML:SYNCML1.2}Chal")
        self.assertIn(b"syncml:auth-basic", answer.data)
        self.assertIsNotNone(chal)
        self.assertEqual(answer.commands("Alert"), [])

    def test_a_wrong_password_gets_401_and_no_data(self):
        answer = self.device(password="nope").send(alert(201))
        self.assertEqual(answer.header_status(), 401)
        self.assertEqual((answer.commands("Alert"), answer.items()), ([], []))

    def md5_message(self, client, nonce, secret):
        from protocols.syncml import message
        from slap_core.sync_secrets import md5_b64, md5_response

        response = md5_response(md5_b64(("alice:" + secret).encode()),
                                base64.b64decode(nonce))
        cred = el("Cred", el("Meta", el("Type", "syncml:auth-md5", ns="syncml:metinf"),
                             el("Format", "b64", ns="syncml:metinf")), el("Data", response))
        data = client.body(alert(201), cred=cred)
        return Answer(self.engine.handle(message.parse(data), data))

    def nonce(self, answer):
        return answer.root.findtext(".//{syncml:metinf}NextNonce")

    def test_md5_against_a_syncml_secret_with_a_nonce_per_session(self):
        self.engine.authenticate_md5 = self.check_md5
        self.call("sync.set_secret", self.alice, secret="alice-syncml")
        client = self.device(session="1")
        first = self.md5_message(client, "", "alice-syncml")  # no nonce yet: challenged
        self.assertEqual(first.header_status(), 401)
        self.assertIn(b"syncml:auth-md5", first.data)
        answer = self.md5_message(client, self.nonce(first), "alice-syncml")
        self.assertEqual(answer.header_status(), 212)
        self.assertEqual(answer.server_alert()[0], 201)
        # the 212 gives the nonce of the next session; an old nonce or a wrong secret fails
        later = self.device(session="2")
        self.assertEqual(self.md5_message(later, self.nonce(first), "alice-syncml")
                         .header_status(), 401)
        wrong = self.device(session="3")
        refused = self.md5_message(wrong, self.nonce(answer), "alice-secret")
        self.assertEqual(refused.header_status(), 401)

    def check_md5(self, login, nonce, response):
        person = self.master.call("sync.check_md5", Anonymous(), login=login, nonce=nonce,
                                  response=response)
        return User(person.login, set(person.roles))

    def test_md5_without_a_check_is_answered_with_a_basic_challenge(self):
        client = self.device()
        answer = self.md5_message(client, "", "whatever")
        self.assertEqual(answer.header_status(), 401)
        self.assertIn(b"syncml:auth-basic", answer.data)


class SessionTests(EngineTestCase):
    """Packages, anchors, maps and what each change does to the master."""

    def test_a_person_syncs_their_own_card_only(self):
        client = self.device()
        init, answer, items = self.first_sync(client, [("a1", ALICE_CARD)])
        self.assertEqual(init.server_alert()[0], 201)
        self.assertEqual(init.statuses("Alert")[0][2], 200)  # a slow sync needs no anchor
        # the card matched hers by name? no: by nothing (new email, new name) -> create refused
        self.assertEqual(answer.statuses("Add"), [("Add", "2", 403, "a1")])
        self.assertEqual([(kind, guid) for kind, guid, _, _ in items], [("Add", "alice")])
        self.assertNotIn("Site Admin", "".join(data for _, _, _, data in items))

    def test_a_replace_updates_the_person_and_is_not_sent_back(self):
        client = self.device()
        self.first_sync(client)
        partnership = self.call("sync.get", self.alice, device="test-device", store="contacts")
        self.assertEqual(partnership.mapping, {"alice": "dev-alice"})
        second = self.device(session="2")
        init = second.send(alert(200, last="c1", next_="c2"))
        self.assertEqual(init.statuses("Alert")[0][2], 200)
        code, last, next_ = init.server_alert()
        self.assertEqual((code, last), (200, partnership.server_anchor))
        answer = second.send(sync(change("Replace", "dev-alice", ALICE_CARD)))
        self.assertEqual(answer.statuses("Replace"), [("Replace", "2", 200, "dev-alice")])
        self.assertEqual(answer.items(), [])
        self.assertTrue(answer.final)
        person = self.call("person.me", self.alice)
        self.assertEqual((person.full_name, person.email), ("Alice Martin", "alice@new.example"))
        after = self.call("sync.get", self.alice, device="test-device", store="contacts")
        self.assertEqual((after.client_anchor, after.server_anchor), ("c2", next_))

    def test_both_sides_changed_the_client_wins_and_says_so(self):
        client = self.device()
        self.first_sync(client)
        self.call("person.update", self.admin, login="alice", phone="+33 1")
        second = self.device(session="2")
        second.send(alert(200, last="c1", next_="c2"))
        answer = second.send(sync(change("Replace", "dev-alice", ALICE_CARD)))
        self.assertEqual(answer.statuses("Replace"), [("Replace", "2", 208, "dev-alice")])
        self.assertEqual(self.call("person.me", self.alice).email, "alice@new.example")

    def test_a_stale_anchor_means_a_slow_sync_that_duplicates_nothing(self):
        client = self.device()
        self.first_sync(client)
        second = self.device(session="2")
        init = second.send(alert(200, last="not-what-we-agreed", next_="c3"))
        self.assertEqual(init.statuses("Alert")[0][2], 508)
        self.assertEqual(init.server_alert()[0], 201)
        mine = format_card(Card(full_name="Alice", email="alice@example.org"))
        answer = second.send(sync(change("Replace", "other-id", mine)))
        self.assertEqual(answer.statuses("Replace"), [("Replace", "2", 200, "other-id")])
        self.assertEqual(answer.items(), [])  # paired with hers by content: nothing to send
        self.assertEqual(len(self.call("person.list", self.admin)), 2)

    def test_master_changes_flow_to_the_device_on_the_next_sync(self):
        client = self.device(user="admin", password="admin-secret")
        self.first_sync(client)
        self.call("person.update", self.admin, login="alice", email="alice@moved.example")
        self.call("person.create", self.admin, login="bob", full_name="Bob")
        second = self.device(user="admin", password="admin-secret", session="2")
        second.send(alert(200, last="c1", next_="c2"))
        answer = second.send(sync())
        items = {guid: (kind, luid, parse(data)) for kind, guid, luid, data in answer.items()}
        self.assertEqual(sorted(items), ["alice", "bob"])
        self.assertEqual(items["alice"][:2], ("Replace", "dev-alice"))
        self.assertEqual(items["alice"][2].email, "alice@moved.example")
        self.assertEqual(items["bob"][:2], ("Add", ""))

    def test_deletions_disable_people_and_disabled_people_leave_devices(self):
        admin = self.device(user="admin", password="admin-secret")
        self.first_sync(admin)
        mine = self.device(session="u1")
        self.first_sync(mine)
        # alice deletes her own card: nothing happens on the master
        alice = self.device(session="u2")
        alice.send(alert(200, last="c1", next_="c2"))
        answer = alice.send(sync(change("Delete", "dev-alice")))
        self.assertEqual(answer.statuses("Delete")[0][2], 211)
        self.assertFalse(self.call("person.get", self.admin, login="alice").disabled)
        # the admin deletes alice's card: she is disabled, and logs in no more
        second = self.device(user="admin", password="admin-secret", session="2")
        second.send(alert(200, last="c1", next_="c2"))
        answer = second.send(sync(change("Delete", "dev-alice")))
        self.assertEqual(answer.statuses("Delete")[0][2], 200)
        self.assertTrue(self.call("person.get", self.admin, login="alice").disabled)
        self.assertEqual(self.device(session="u3").send(alert(201)).header_status(), 401)
        # the master disables bob: his card leaves the admin's device
        self.call("person.create", self.admin, login="bob", full_name="Bob")
        third = self.device(user="admin", password="admin-secret", session="3")
        third.send(alert(200, last="c2", next_="c3"))
        added = third.send(sync()).items()
        self.assertEqual([(kind, guid) for kind, guid, _, _ in added], [("Add", "bob")])
        third.send(map_items([("bob", "dev-bob")]))
        self.call("person.update", self.admin, login="bob", disabled=True)
        fourth = self.device(user="admin", password="admin-secret", session="4")
        fourth.send(alert(200, last="c3", next_="c4"))
        gone = fourth.send(sync()).items()
        self.assertEqual(gone, [("Delete", "bob", "dev-bob", "")])

    def test_a_repeated_message_gets_the_same_answer_and_changes_nothing_twice(self):
        client = self.device(user="admin", password="admin-secret")
        client.send(alert(201))
        new = format_card(Card(full_name="Carol", email="carol@example.org"))
        data = client.body(sync(change("Add", "c1", new)))
        from protocols.syncml import message
        first = self.engine.handle(message.parse(data), data)
        again = self.engine.handle(message.parse(data), data)
        self.assertEqual(first, again)
        self.assertEqual(len(self.call("person.list", self.admin)), 3)

    def test_what_is_refused_is_a_status_and_the_session_goes_on(self):
        client = self.device(user="admin", password="admin-secret")
        answer = client.send(alert(201), alert(201, store="nowhere", local="./x"),
                             el("Exec", el("Item")), alert(299, store="contacts"))
        self.assertEqual([s[2] for s in answer.statuses("Alert")], [200, 404, 406])
        self.assertEqual(answer.statuses("Exec")[0][2], 406)
        answer = client.send(sync(change("Add", "bad", "this is not a vCard"),
                                  change("Add", "good", format_card(Card(full_name="Dan")))))
        self.assertEqual([s[2] for s in answer.statuses("Add")], [415, 201])
        self.assertIn("dan", {p.login for p in self.call("person.list", self.admin)})

    def test_the_servers_devinf(self):
        client = self.device()
        answer = client.send(el("Get", el("Item", el("Target", el("LocURI", "./devinf12")))))
        self.assertEqual(answer.statuses("Get")[0][2], 200)
        (results,) = answer.commands("Results")
        self.assertIn(b"<SourceRef>contacts</SourceRef>", answer.data)
        self.assertIn(b"<CTType>text/vcard</CTType>", answer.data)
        self.assertIsNotNone(results)

    def test_a_bug_is_a_syncml_status_not_a_traceback(self):
        client = self.device()
        client.send(alert(201))
        with mock.patch.object(ContactsStore, "items", side_effect=RuntimeError("a bug")):
            answer = client.send(sync(change("Add", "x", ALICE_CARD)))
        self.assertEqual(answer.statuses(), [("SyncHdr", "0", 511, "test-device")])
        self.assertTrue(answer.final)
        self.flushLoggedErrors(RuntimeError)


class VcardTests(MasterTestCase):
    """vCard 2.1 and 3.0 read into a card, and written back."""

    def test_versions_and_encodings(self):
        card = parse("BEGIN:VCARD\nVERSION:2.1\nN:Martin;Alice\nTEL;CELL:+33 1\n"
                     "EMAIL;INTERNET:a@example.org\nORG:Acme;Sales\n"
                     "NOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9\nEND:VCARD\n")
        self.assertEqual(card, Card(full_name="Alice Martin", email="a@example.org",
                                    phone="+33 1", organisation="Acme"))
        folded = parse("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jean\r\n  Dupont\\, fils\r\n"
                       "item1.EMAIL;TYPE=work:j@example.org\r\nUID:jean\r\nEND:VCARD\r\n")
        self.assertEqual((folded.full_name, folded.email, folded.uid),
                         ("Jean Dupont, fils", "j@example.org", "jean"))
        written = format_card(Card(uid="j", full_name="Jean Dupont; fils", email="j@e.org"))
        self.assertEqual(parse(written).full_name, "Jean Dupont; fils")
        self.assertIn("N:fils;Jean Dupont\\;;;;", written)

    def test_what_is_not_a_vcard(self):
        from protocols.syncml.vcard import BadCard
        for text in ("", "hello", "BEGIN:VCARD\nFN:x\n", "BEGIN:VCARD\nbroken\nEND:VCARD",
                     "BEGIN:VCARD\n" + "NOTE:x\n" * 20000 + "END:VCARD"):
            with self.assertRaises(BadCard):
                parse(text)


INSTANCE = """<instance xmlns="urn:slapgate:syncml:instance:1">
  <title>{title}</title><software_release>{release}</software_release>
  <state>{state}</state><parameter name="memory-mb">{memory}</parameter>
  <reference>made-up</reference><connection name="url">forged</connection>
</instance>"""


class InstancesStoreTests(EngineTestCase):
    """The instances store: requests, re-requests and destructions through the core."""

    def instance(self, title="web", state="started", memory="16"):
        return INSTANCE.format(title=title, release=SR, state=state, memory=memory)

    def test_an_add_requests_a_replace_re_requests_a_delete_destroys(self):
        client = self.device()
        client.send(alert(201, store="instances", local="./instances", next_="c1"))
        answer = client.send(sync(change("Add", "i1", self.instance(),
                                         content_type="application/vnd.slapgate.instance+xml"),
                                  store="instances", local="./instances"))
        self.assertEqual(answer.statuses("Add"), [("Add", "2", 201, "i1")])
        (view,) = self.call("instance.list", self.alice)
        self.assertEqual((view.title, view.parameters, view.connection),
                         ("web", {"memory-mb": "16"}, {}))
        # what the master owns comes back at once, the device's forged values replaced
        (item,) = answer.items()
        self.assertEqual(item[:3], ("Replace", view.reference, "i1"))
        record = read_item(item[3])
        self.assertIn("<reference>%s</reference>" % view.reference, item[3])
        self.assertNotIn("forged", item[3])
        self.assertEqual(record["parameters"], {"memory-mb": "16"})
        client.send(map_items([], store="instances", local="./instances"))

        second = self.device(session="2")
        init = second.send(alert(200, store="instances", local="./instances", last="c1",
                                 next_="c2"))
        self.assertEqual(init.statuses("Alert")[0][2], 200)
        answer = second.send(sync(change("Replace", "i1", self.instance(memory="32")),
                                  store="instances", local="./instances"))
        self.assertEqual(answer.statuses("Replace")[0][2], 200)
        self.assertEqual(self.call("instance.get", self.alice, reference=view.reference)
                         .parameters, {"memory-mb": "32"})
        second.send(map_items([], store="instances", local="./instances"))

        third = self.device(session="3")
        third.send(alert(200, store="instances", local="./instances", last="c2", next_="c3"))
        answer = third.send(sync(change("Delete", "i1"), store="instances",
                                 local="./instances"))
        self.assertEqual(answer.statuses("Delete")[0][2], 200)
        self.assertEqual(answer.items(), [])  # destroyed: not sent back while it winds up
        self.assertEqual(self.call("instance.get", self.alice, reference=view.reference)
                         .requested_state, "destroyed")

    def test_what_the_master_changes_flows_to_the_device(self):
        view = self.call_request()
        client = self.device()
        init, answer, items = self.first_sync_of("instances", client)
        self.assertEqual([(kind, guid) for kind, guid, _, _ in items], [("Add", view.reference)])
        partition = self.partition_agent(self.call("instance.get", self.alice,
                                                   reference=view.reference))
        self.call("instance.set_connection", partition, computer=partition.computer,
                  partition=partition.partition, connection={"url": "http://[::1]:8080"})
        second = self.device(session="2")
        second.send(alert(200, store="instances", local="./instances", last="c1", next_="c2"))
        answer = second.send(sync(store="instances", local="./instances"))
        (item,) = answer.items()
        self.assertEqual(item[:3], ("Replace", view.reference, "dev-" + view.reference))
        self.assertIn('<connection name="url">http://[::1]:8080</connection>', item[3])

    def test_a_bad_item_is_refused_and_nothing_is_requested(self):
        client = self.device()
        client.send(alert(201, store="instances", local="./instances"))
        bad = [self.instance().replace("<title>web</title>", ""),
               "<instance xmlns='urn:other'/>", "not xml <",
               self.instance(state="exploded")]
        answer = client.send(sync(*[change("Add", "b%d" % n, text) for n, text in
                                    enumerate(bad)], store="instances", local="./instances"))
        self.assertEqual([s[2] for s in answer.statuses("Add")], [415] * 4)
        self.assertEqual(self.call("instance.list", self.alice), [])

    def call_request(self):
        self.make_computer("COMP-0")
        return self.request(self.alice, "web")

    def first_sync_of(self, store, client):
        init = client.send(alert(201, store=store, local="./" + store, next_="c1"))
        answer = client.send(sync(store=store, local="./" + store))
        items = answer.items()
        client.send(map_items([(guid, "dev-" + guid) for kind, guid, _, _ in items],
                              store=store, local="./" + store))
        return init, answer, items


class ServerOnlyStoreTests(EngineTestCase):
    """catalogue and invoices: from the master only."""

    def test_the_catalogue_comes_down_and_refuses_changes(self):
        self.call("catalogue.add_release", self.admin, url=SR, product="web", version="1.0")
        client = self.device()
        client.send(alert(201, store="catalogue", local="./catalogue"))
        answer = client.send(sync(change("Add", "x", "<release/>"), store="catalogue",
                                  local="./catalogue"))
        self.assertEqual(answer.statuses("Add")[0][2], 405)
        (item,) = answer.items()
        self.assertIn("<url>%s</url>" % SR, item[3])
        self.assertIn("<version>1.0</version>", item[3])

    def test_invoices_are_the_callers(self):
        client = self.device()
        client.send(alert(201, store="invoices", local="./invoices"))
        answer = client.send(sync(store="invoices", local="./invoices"))
        self.assertEqual(answer.items(), [])
        self.assertTrue(answer.final)


TICKET = """<ticket xmlns="urn:slapgate:syncml:ticket:1"><title>{title}</title>
<kind>complaint</kind>{state}{messages}</ticket>"""


class TicketsStoreTests(EngineTestCase):
    """The tickets store: an ERP's CRM opens tickets, posts and closes; answers flow back."""

    def ticket(self, *texts, title="shop is slow", state="", numbered=()):
        messages = "".join('<message number="%d" author="x">%s</message>' % (n, t)
                           for n, t in numbered)
        messages += "".join("<message>%s</message>" % text for text in texts)
        return TICKET.format(title=title, state=state and "<state>%s</state>" % state,
                             messages=messages)

    def test_the_crm_opens_posts_and_closes_and_support_answers_flow_back(self):
        store = dict(store="tickets", local="./cases")
        client = self.device()
        client.send(alert(201, next_="c1", **store))
        answer = client.send(sync(change("Add", "case-1", self.ticket("Pages take 10 s."),
                                         content_type="application/vnd.slapgate.ticket+xml"),
                                  **store))
        self.assertEqual(answer.statuses("Add")[0][2], 201)
        (ticket,) = self.call("ticket.list", self.alice)
        self.assertEqual((ticket.title, ticket.kind, ticket.message_count),
                         ("shop is slow", "complaint", 1))
        (item,) = answer.items()
        self.assertEqual(item[:3], ("Replace", ticket.reference, "case-1"))
        self.assertIn('<message number="1" author="alice"', item[3])
        client.send(map_items([], **store))
        self.call("ticket.post", self.admin, reference=ticket.reference, text="Which page?")

        second = self.device(session="2")
        second.send(alert(200, last="c1", next_="c2", **store))
        answer = second.send(sync(**store))
        (item,) = answer.items()
        self.assertIn('author="admin"', item[3])
        self.assertIn("Which page?", item[3])
        second.send(map_items([], **store))

        third = self.device(session="3")
        third.send(alert(200, last="c2", next_="c3", **store))
        answer = third.send(sync(change("Replace", "case-1", self.ticket(
            "The home page.", state="closed", numbered=((1, "Pages take 10 s."),
                                                        (2, "Which page?")))), **store))
        self.assertEqual(answer.statuses("Replace")[0][2], 200)
        view = self.call("ticket.get", self.alice, reference=ticket.reference)
        self.assertEqual(([m.text for m in view.messages], view.state),
                         (["Pages take 10 s.", "Which page?", "The home page."], "closed"))
        answer = third.send(sync(change("Delete", "case-1"), **store))
        self.assertEqual(answer.statuses("Delete")[0][2], 405)

    def test_a_bad_item_opens_nothing(self):
        store = dict(store="tickets", local="./cases")
        client = self.device()
        client.send(alert(201, **store))
        bad = [self.ticket(), self.ticket("x", title=""), "<ticket xmlns='urn:other'/>",
               self.ticket("x", state="exploded")]
        answer = client.send(sync(*[change("Add", "b%d" % n, text) for n, text in
                                    enumerate(bad)], **store))
        self.assertEqual([s[2] for s in answer.statuses("Add")], [415] * 4)
        self.assertEqual(self.call("ticket.list", self.alice), [])
