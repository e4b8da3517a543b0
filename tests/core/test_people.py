"""Local users: creation, roles, password hashing and checks."""

from sqlalchemy import text

from slap_core import errors
from slap_core.passwords import hash_password, verify_password
from tests.fixtures import MasterTestCase


class PasswordTests(MasterTestCase):
    """Passwords are stored as salted scrypt hashes and checked in constant time."""

    def test_hash_is_salted_and_verifies_only_the_right_password(self):
        first, second = hash_password("secret"), hash_password("secret")
        self.assertNotEqual(first, second)
        self.assertTrue(first.startswith("scrypt$"))
        self.assertTrue(verify_password("secret", first))
        self.assertFalse(verify_password("Secret", first))

    def test_malformed_stored_hash_never_verifies(self):
        for stored in ("", "plain", "md5$x$y$z$a$b", "scrypt$1$2$3$!!$!!"):
            self.assertFalse(verify_password("secret", stored), stored)

    def test_password_is_never_stored_in_clear(self):
        self.call("person.create", self.admin, login="carol", password="hunter2")
        with self.master.storage.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT password_hash FROM person WHERE login = 'carol'")).scalar()
        self.assertNotIn("hunter2", stored)


class PeopleTests(MasterTestCase):
    """person.* operations."""

    def test_created_user_logs_in_with_roles(self):
        self.call("person.create", self.admin, login="carol", password="pw",
                  roles=["operator", "user"])
        view = self.call("person.check_password", self.alice, login="carol", password="pw")
        self.assertEqual(view.roles, ("operator", "user"))
        self.assertTrue(view.has_password)

    def test_wrong_password_unknown_user_and_passwordless_user_are_refused_alike(self):
        self.call("person.create", self.admin, login="carol", password="pw")
        self.call("person.create", self.admin, login="dave")
        for login, password in (("carol", "bad"), ("nobody", "pw"), ("dave", "")):
            error = self.assertRaises(errors.Unauthenticated, self.call,
                                      "person.check_password", self.alice, login=login,
                                      password=password)
            self.assertEqual(str(error), "bad login or password")

    def test_duplicate_login_is_a_conflict_and_bad_input_is_invalid(self):
        self.call("person.create", self.admin, login="carol")
        self.assertRaises(errors.Conflict, self.call, "person.create", self.admin, login="carol")
        self.assertRaises(errors.Invalid, self.call, "person.create", self.admin, login=" x")
        self.assertRaises(errors.Invalid, self.call, "person.create", self.admin, login="x",
                          roles=["root"])

    def test_user_changes_own_password_but_not_anothers(self):
        self.call("person.create", self.admin, login="alice", password="old")
        self.call("person.set_password", self.alice, login="alice", password="new")
        self.call("person.check_password", self.bob, login="alice", password="new")
        self.assertRaises(errors.Forbidden, self.call, "person.set_password", self.bob,
                          login="alice", password="mine")

    def test_me_creates_the_directory_user_on_first_use(self):
        self.assertEqual([p.login for p in self.call("person.list", self.admin)], [])
        me = self.call("person.me", self.alice)
        self.assertEqual((me.login, me.has_password), ("alice", False))
        self.assertEqual([p.login for p in self.call("person.list", self.admin)], ["alice"])

    def test_get_reads_oneself_or_anyone_for_an_admin(self):
        self.call("person.create", self.admin, login="carol", full_name="Carol")
        self.assertEqual(self.call("person.get", self.admin, login="carol").full_name, "Carol")
        self.assertEqual(self.call("person.get", self.alice, login="alice").login, "alice")
        self.assertRaises(errors.Forbidden, self.call, "person.get", self.alice, login="carol")
        self.assertRaises(errors.NotFound, self.call, "person.get", self.admin, login="nobody")


class ContactCardTests(MasterTestCase):
    """person.update: a person's name, email, phone and organisation (a vCard's FN, EMAIL, TEL,
    ORG), set by themselves or an admin."""

    def test_a_person_edits_their_own_card_and_what_is_left_out_is_kept(self):
        self.call("person.create", self.admin, login="alice", full_name="Alice",
                  email="alice@example.org", phone="+33 1 23 45 67 89")
        view = self.call("person.update", self.alice, login="alice", organisation="Nexedi",
                         full_name="Alice Liddell")
        self.assertEqual((view.full_name, view.email, view.phone, view.organisation),
                         ("Alice Liddell", "alice@example.org", "+33 1 23 45 67 89", "Nexedi"))
        self.assertEqual(self.call("person.get", self.admin, login="alice"), view)
        cleared = self.call("person.update", self.admin, login="alice", phone="")
        self.assertEqual(cleared.phone, "")

    def test_only_an_admin_edits_another_s_card(self):
        self.call("person.me", self.bob)
        self.assertRaises(errors.Forbidden, self.call, "person.update", self.alice, login="bob",
                          full_name="Mallory")
        self.assertRaises(errors.NotFound, self.call, "person.update", self.admin,
                          login="nobody", full_name="X")
        self.assertEqual(self.call("person.update", self.admin, login="bob",
                                   email="bob@example.org").email, "bob@example.org")

    def test_a_card_with_control_characters_or_no_at_sign_is_refused(self):
        for fields in (dict(full_name="a\nb"), dict(email="not-an-address"),
                       dict(phone="1" * 65), dict(organisation=42)):
            self.assertRaises(errors.Invalid, self.call, "person.update", self.alice,
                              login="alice", **fields)
        self.assertRaises(errors.Invalid, self.call, "person.create", self.admin, login="eve",
                          email="eve")


class AccountantReadsPeopleTests(MasterTestCase):
    """person.list: an admin or an accountant, nobody else."""

    def test_an_accountant_lists_people_a_user_does_not(self):
        from slap_core.principals import User

        self.call("person.create", self.admin, login="carol", roles=["accountant"])
        self.assertEqual([p.login for p in self.call("person.list", User("carol",
                                                                         {"accountant"}))],
                         ["carol"])
        self.assertRaises(errors.Forbidden, self.call, "person.list", self.alice)

    def test_a_disabled_person_logs_in_no_more_and_keeps_what_they_own(self):
        from slap_core.principals import Anonymous

        self.call("person.create", self.admin, login="alice", password="alice-secret")
        token = self.call("token.create", self.alice, label="script").secret
        self.make_computer("COMP-0")
        self.request(self.alice, "web")
        view = self.call("person.update", self.admin, login="alice", disabled=True)
        self.assertTrue(view.disabled)
        with self.assertRaisesRegex(errors.Unauthenticated, "disabled"):
            self.call("person.check_password", Anonymous(), login="alice",
                      password="alice-secret")
        with self.assertRaisesRegex(errors.Unauthenticated, "disabled"):
            self.call("token.authenticate", Anonymous(), token=token)
        self.assertEqual(len(self.call("instance.list", self.admin)), 1)
        self.call("person.update", self.admin, login="alice", disabled=False)
        self.assertEqual(self.call("person.check_password", Anonymous(), login="alice",
                                   password="alice-secret").login, "alice")

    def test_only_an_admin_disables_and_not_themselves(self):
        self.call("person.create", self.admin, login="admin", roles=["admin"])
        with self.assertRaises(errors.Forbidden):
            self.call("person.update", self.alice, login="alice", disabled=True)
        with self.assertRaises(errors.Invalid):
            self.call("person.update", self.admin, login="admin", disabled=True)

    def test_an_admin_changes_roles_but_not_their_own_admin_role(self):
        self.call("person.create", self.admin, login="admin", roles=["admin"])
        self.call("person.create", self.admin, login="carol")
        view = self.call("person.update", self.admin, login="carol", roles=["accountant"])
        self.assertEqual(view.roles, ("accountant",))
        with self.assertRaises(errors.Invalid):
            self.call("person.update", self.admin, login="carol", roles=["wizard"])
        with self.assertRaises(errors.Invalid):
            self.call("person.update", self.admin, login="admin", roles=["user"])
        with self.assertRaises(errors.Forbidden):
            self.call("person.update", self.alice, login="alice", roles=["admin"])
