"""The contacts store against a real SyncML client, Debian's SyncEvolution 2.0.0."""

import os

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from slap_core.principals import User
from tests.fixtures import start_test_master
from tests.syncml.syncevolution import SyncEvolution, available

ADMIN = User("admin", {"admin"})


def card(number, uid=None):
    """A vCard 3.0 of contact ``number`` (CRLF ends, as devices write them)."""
    lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:Person %d" % number,
             "N:%d;Person;;;" % number, "EMAIL;TYPE=INTERNET:person%d@example.org" % number,
             "TEL;TYPE=CELL:+33 1 00 00 %02d" % number, "ORG:Org %d" % (number % 5)]
    if uid:
        lines.append("UID:" + uid)
    return "\r\n".join(lines + ["END:VCARD"]) + "\r\n"


def fields(text):
    """{property: value} of a vCard's lines we compare (FN, EMAIL, TEL, ORG, UID)."""
    wanted = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        name, _, value = line.partition(":")
        prop = name.split(";")[0].upper()
        if prop in ("FN", "EMAIL", "TEL", "ORG", "UID") and prop not in wanted:
            wanted[prop] = value.strip()
    return wanted


class SyncEvolutionCase(unittest.TestCase):
    """A master in this process and SyncEvolution clients of it."""

    def setUp(self):
        missing = available()
        if missing:
            self.fail(missing)
        self.running = start_test_master(self)
        self.url = self.running.urls()[0].rstrip("/") + "/syncml"
        self.login, self.password = self.running.credentials

    def client(self, name="device", user=None, password=None, **settings):
        return SyncEvolution(os.path.abspath(self.mktemp()) + "-" + name, self.url, user or self.login,
                             password or self.password, **settings)


@pytest.mark.syncevolution
class SyncEvolutionContactsTests(SyncEvolutionCase):
    """Slow, two-way, incremental and refresh syncs of the contacts store."""

    timeout = 240

    def people(self):
        return {p.login: p for p in self.running.master.call("person.list", ADMIN)}

    @defer.inlineCallbacks
    def sync(self, client, mode="two-way"):
        code, output = yield client.sync(mode)
        self.assertEqual(code, 0, output[-3000:])
        return output

    @defer.inlineCallbacks
    def test_slow_sync_of_50_cards_into_an_empty_master(self):
        self.running.master.call("person.update", ADMIN, login="admin", full_name="Site Admin",
                                 email="admin@example.org")
        device = self.client()
        yield device.configure()
        for number in range(50):
            device.write("card%02d.vcf" % number, card(number))
        yield self.sync(device, "slow")
        people = self.people()
        self.assertEqual(len(people), 51)  # the 50 and the admin
        person = people["person7"]
        self.assertEqual((person.full_name, person.email, person.phone, person.organisation),
                         ("Person 7", "person7@example.org", "+33 1 00 00 07", "Org 2"))
        # the admin's card came to the device
        cards = device.cards()
        self.assertEqual(len(cards), 51)
        admin = [fields(text) for text in cards.values() if "Site Admin" in text]
        self.assertEqual(admin, [{"FN": "Site Admin", "EMAIL": "admin@example.org",
                                  "TEL": "", "ORG": ";;;"}])
        # a second slow sync pairs every card by content: nothing is duplicated
        yield self.sync(device, "slow")
        self.assertEqual(len(self.people()), 51)
        self.assertEqual(len(device.cards()), 51)

    @defer.inlineCallbacks
    def test_two_way_then_incremental_changes_on_both_sides(self):
        master = self.running.master
        for number in range(3):
            master.call("person.create", ADMIN, login="p%d" % number,
                        full_name="Person %d" % number, email="p%d@example.org" % number)
        device = self.client()
        yield device.configure()
        device.write("mine.vcf", card(10))
        yield self.sync(device)  # the first sync of a device is slow
        people = self.people()
        self.assertEqual(set(people), {"admin", "p0", "p1", "p2", "person10"})
        names = {name: fields(text).get("FN") for name, text in device.cards().items()}
        self.assertEqual(sorted(names.values()), ["", "Person 0", "Person 1", "Person 10",
                                                  "Person 2"])
        anchors = master.call("sync.get", ADMIN, device=self.device_id(device),
                              store="contacts")
        self.assertTrue(anchors.client_anchor and anchors.server_anchor)
        self.assertEqual(len(anchors.mapping), 5)

        # on both sides: a change, an addition; on the device: a deletion
        by_name = {fields(text).get("FN"): name for name, text in device.cards().items()}
        device.write(by_name["Person 1"], device.cards()[by_name["Person 1"]].replace(
            "p1@example.org", "p1@changed.example"))
        device.write("new.vcf", card(11))
        device.remove(by_name["Person 2"])
        master.call("person.update", ADMIN, login="p0", phone="+33 9 99")
        master.call("person.create", ADMIN, login="p3", full_name="Person 3")
        master.call("person.update", ADMIN, login="person10", disabled=True)
        output = yield self.sync(device)
        self.assertIn("two-way", output)
        self.assertNotIn("slow", output)
        people = self.people()
        self.assertEqual(people["p1"].email, "p1@changed.example")
        self.assertEqual(people["person11"].full_name, "Person 11")
        self.assertTrue(people["p2"].disabled)  # an admin's deletion disables, keeps the rest
        cards = {fields(text).get("FN"): fields(text) for text in device.cards().values()}
        self.assertEqual(cards["Person 0"]["TEL"], "+33 9 99")
        self.assertIn("Person 3", cards)
        self.assertNotIn("Person 2", cards)  # the card stays deleted on the device
        self.assertNotIn("Person 10", cards)  # disabled on the master: deleted here
        after = master.call("sync.get", ADMIN, device=self.device_id(device), store="contacts")
        self.assertNotEqual(after.server_anchor, anchors.server_anchor)

        # nothing changed: an incremental sync sends nothing either way
        before = device.cards()
        output = yield self.sync(device)
        self.assertNotIn("slow", output)
        self.assertEqual(device.cards(), before)

    def device_id(self, device):
        """The device id SyncEvolution sends (its config's deviceId)."""
        config = device.work / "home" / ".config" / "syncevolution" / "default" / "config.ini"
        for line in config.read_text().splitlines():
            if line.startswith("deviceId"):
                return line.partition("=")[2].strip()
        raise AssertionError("no deviceId in %s" % config)

    @defer.inlineCallbacks
    def test_a_wrong_password_syncs_nothing(self):
        device = self.client(password="not-the-password")
        yield device.configure()
        device.write("mine.vcf", card(1))
        code, output = yield device.sync()
        self.assertNotEqual(code, 0)
        self.assertIn("401", output)
        self.assertEqual(set(self.people()), {"admin"})
        self.assertEqual(list(device.cards()), ["mine.vcf"])

    @defer.inlineCallbacks
    def test_md5_with_a_syncml_secret(self):
        master = self.running.master
        master.call("person.create", ADMIN, login="alice", password="alice-password",
                    full_name="Alice")
        master.call("sync.set_secret", User("alice"), secret="alice-syncml-secret")
        device = self.client(user="alice", password="alice-syncml-secret", auth="md5")
        yield device.configure()
        yield self.sync(device, "slow")
        (card,) = device.cards().values()
        self.assertEqual(fields(card)["FN"], "Alice")
        output = yield self.sync(device)  # the nonce the last session gave
        self.assertNotIn("slow", output)
        wrong = self.client("wrong", user="alice", password="alice-password", auth="md5")
        yield wrong.configure()
        code, output = yield wrong.sync()
        self.assertNotEqual(code, 0)

    @defer.inlineCallbacks
    def test_refresh_from_server_and_a_second_device(self):
        master = self.running.master
        master.call("person.create", ADMIN, login="alice", full_name="Alice",
                    email="alice@example.org")
        first = self.client("first")
        yield first.configure()
        first.write("bob.vcf", card(2))
        yield self.sync(first)
        second = self.client("second")
        yield second.configure()
        second.write("stale.vcf", card(3, uid="stale"))
        # refresh from the master: the device's own cards go, the master's come
        yield self.sync(second, "refresh-from-remote")
        names = sorted(fields(text).get("FN") for text in second.cards().values())
        self.assertEqual(names, ["", "Alice", "Person 2"])
        self.assertNotIn("stale", self.people())
        # each device keeps its own anchors: a change made on one reaches the other
        by_name = {fields(text).get("FN"): name for name, text in second.cards().items()}
        second.write(by_name["Alice"], second.cards()[by_name["Alice"]].replace(
            "alice@example.org", "alice@second.example"))
        output = yield self.sync(second)
        self.assertNotIn("slow", output)
        output = yield self.sync(first)
        self.assertNotIn("slow", output)
        alice = [fields(text) for text in first.cards().values() if "Alice" in text]
        self.assertEqual(alice[0]["EMAIL"], "alice@second.example")


@pytest.mark.syncevolution
class ManyCardsTests(SyncEvolutionCase):
    """1,000 cards through 10 kB messages, both ways."""

    timeout = 600

    @defer.inlineCallbacks
    def test_a_thousand_cards_in_small_messages(self):
        engine = self.running.site.resource.children[b"syncml"].resource.engine
        engine.max_msg_size = 10000  # what the master takes: the device splits its package
        sizes = []
        handle = engine.handle

        def measured(message, body):
            sizes.append(len(body))
            reply = handle(message, body)
            sizes.append(len(reply))
            return reply

        engine.handle = measured
        up = self.client("up", max_msg_size=10000)
        yield up.configure()
        for number in range(1000):
            up.write("card%04d.vcf" % number, card(number))
        code, output = yield up.sync("slow")
        self.assertEqual(code, 0, output[-3000:])
        self.assertEqual(len(self.running.master.call("person.list", ADMIN)), 1001)
        down = self.client("down", max_msg_size=10000)
        code, output = yield down.sync("refresh-from-remote")
        self.assertEqual(code, 0, output[-3000:])
        cards = down.cards()
        self.assertEqual(len(cards), 1001)
        self.assertEqual(sum("person999@example.org" in text for text in cards.values()), 1)
        self.assertGreater(len(sizes), 2 * 60)  # both packages in many messages...
        self.assertLessEqual(max(sizes), 10000)  # ... each within 10 kB
