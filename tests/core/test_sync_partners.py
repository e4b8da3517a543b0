"""SyncML partnerships in the core: a person's own, replaced whole, checked."""

from slap_core import errors
from slap_core.principals import User
from tests.fixtures import MasterTestCase


class PartnershipTests(MasterTestCase):
    """sync.get and sync.record."""

    def test_never_synced_is_empty(self):
        view = self.call("sync.get", self.alice, device="phone-1", store="contacts")
        self.assertEqual((view.client_anchor, view.server_anchor, view.mapping, view.digests,
                          view.synced_at), ("", "", {}, {}, None))

    def test_recorded_then_replaced(self):
        self.call("sync.record", self.alice, device="phone-1", store="contacts",
                  client_anchor="20261207T100000Z", server_anchor="1",
                  mapping={"alice": "17"}, digests={"alice": "d1"})
        view = self.call("sync.get", self.alice, device="phone-1", store="contacts")
        self.assertEqual((view.client_anchor, view.server_anchor, view.mapping, view.digests),
                         ("20261207T100000Z", "1", {"alice": "17"}, {"alice": "d1"}))
        self.assertIsNotNone(view.synced_at)
        self.call("sync.record", self.alice, device="phone-1", store="contacts",
                  client_anchor="c2", server_anchor="2")
        view = self.call("sync.get", self.alice, device="phone-1", store="contacts")
        self.assertEqual((view.client_anchor, view.server_anchor, view.mapping), ("c2", "2", {}))

    def test_each_person_device_and_store_apart(self):
        self.call("sync.record", self.alice, device="phone-1", store="contacts",
                  client_anchor="a", server_anchor="1")
        for principal, device, store in ((self.bob, "phone-1", "contacts"),
                                         (self.alice, "phone-2", "contacts"),
                                         (self.alice, "phone-1", "instances")):
            self.assertEqual(self.call("sync.get", principal, device=device,
                                       store=store).client_anchor, "")

    def test_a_directory_user_records_on_first_use(self):
        carol = User("carol", {"user"})
        self.call("sync.record", carol, device="d", store="contacts", client_anchor="a",
                  server_anchor="b")
        self.assertEqual(self.call("sync.get", carol, device="d", store="contacts")
                         .server_anchor, "b")

    def test_what_is_refused(self):
        good = dict(device="d", store="contacts", client_anchor="a", server_anchor="b")
        for change in (dict(device=""), dict(device="a\nb"), dict(store="x" * 65),
                       dict(client_anchor="x" * 65), dict(server_anchor="\x00"),
                       dict(mapping={"": "1"}), dict(mapping={"g": ""}),
                       dict(digests={"g": "x" * 129})):
            with self.assertRaises(errors.Invalid, msg=change):
                self.call("sync.record", self.alice, **dict(good, **change))


class SyncmlSecretTests(MasterTestCase):
    """sync.set_secret and sync.check_md5."""

    def test_the_specifications_example(self):
        from slap_core.sync_secrets import md5_b64, md5_response

        # OMA DS Sync Protocol 1.1, 3.5.2: Bruce2, OhBehave, nonce "Nonce"
        self.assertEqual(md5_response(md5_b64(b"Bruce2:OhBehave"), b"Nonce"),
                         "Zz6EivR3yeaaENcRN6lpAQ==")

    def test_a_secret_set_checked_and_removed(self):
        from slap_core.principals import Anonymous
        from slap_core.sync_secrets import md5_b64, md5_response

        view = self.call("sync.set_secret", self.alice, secret="alice-syncml")
        self.assertTrue(view.has_syncml_secret)
        response = md5_response(md5_b64(b"alice:alice-syncml"), b"n0nce")
        check = dict(login="alice", nonce="bjBuY2U=", response=response)
        self.assertEqual(self.call("sync.check_md5", Anonymous(), **check).login, "alice")
        for wrong in (dict(nonce="b3RoZXI="), dict(response="x"), dict(login="bob"),
                      dict(nonce="not base64!")):
            with self.assertRaises(errors.Unauthenticated, msg=wrong):
                self.call("sync.check_md5", Anonymous(), **dict(check, **wrong))
        self.assertFalse(self.call("sync.set_secret", self.alice, secret="")
                         .has_syncml_secret)
        with self.assertRaises(errors.Unauthenticated):
            self.call("sync.check_md5", Anonymous(), **check)
        with self.assertRaises(errors.Invalid):
            self.call("sync.set_secret", self.alice, secret="short")
