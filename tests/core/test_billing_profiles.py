"""Billing profiles, the seller, and the VAT rule as data."""

from slap_core import errors
from slap_core.principals import User
from slap_core.vat import OUTSIDE_THE_UNION, REVERSE_CHARGE, vat_for
from tests.fixtures import MasterTestCase
from twisted.trial import unittest


class VatRuleTests(unittest.TestCase):
    """Each rule of slap_core.vat.RULES, for a seller in France and a price list at 20 %."""

    def test_the_rules(self):
        cases = [
            (("FR", "FR", None), ("20", None)),                 # domestic consumer
            (("FR", "FR", "FR40303265045"), ("20", None)),      # domestic business
            (("FR", "DE", "DE136695976"), ("0", REVERSE_CHARGE)),
            (("FR", "DE", None), ("20", None)),                 # consumer in the Union
            (("FR", "US", None), ("0", OUTSIDE_THE_UNION)),
            (("FR", "CH", "CHE123456789"), ("0", OUTSIDE_THE_UNION)),
            ((None, "DE", "DE136695976"), ("20", None)),        # no seller set: the list's rate
            (("FR", None, None), ("20", None)),                 # no profile: the list's rate
            (("CH", "FR", None), ("20", None)),                 # a seller outside the Union
        ]
        for (seller, buyer, code), expected in cases:
            self.assertEqual(vat_for(seller, buyer, code, "20"), expected, (seller, buyer, code))


class ProfileTests(MasterTestCase):
    """Who sets and reads profiles and the seller, and what is refused."""

    def test_a_person_sets_and_reads_their_own(self):
        view = self.call("billing.set_profile", self.alice, country="de",
                         organisation="Alice GmbH", vat_code="de 136.695.976",
                         address="Hauptstr. 1\n10115 Berlin", email="billing@alice.example")
        self.assertEqual((view.person, view.country, view.vat_code), ("alice", "DE",
                                                                      "DE136695976"))
        self.assertEqual(self.call("billing.get_profile", self.alice), view)
        self.assertEqual(self.call("billing.get_profile", self.admin, login="alice"), view)
        # set again: what is left out is cleared
        again = self.call("billing.set_profile", self.alice, country="FR")
        self.assertEqual((again.organisation, again.vat_code, again.email), (None, None, None))

    def test_others_profiles(self):
        self.assertRaises(errors.NotFound, self.call, "billing.get_profile", self.alice)
        self.call("billing.set_profile", self.alice, country="FR")
        self.assertRaises(errors.Forbidden, self.call, "billing.get_profile", self.bob,
                          login="alice")
        self.assertRaises(errors.Forbidden, self.call, "billing.set_profile", self.bob,
                          login="alice", country="FR")
        self.call("person.create", self.admin, login="carol", roles=["accountant"])
        carol = User("carol", {"accountant"})
        self.assertEqual(self.call("billing.get_profile", carol, login="alice").country, "FR")
        self.assertRaises(errors.Forbidden, self.call, "billing.set_profile", carol,
                          login="alice", country="DE")
        self.assertEqual(self.call("billing.set_profile", self.admin, login="alice",
                                   country="DE").country, "DE")
        self.assertRaises(errors.NotFound, self.call, "billing.set_profile", self.admin,
                          login="nobody", country="DE")

    def test_bad_profiles_are_invalid_and_nothing_is_stored(self):
        for arguments in (dict(country="XX"), dict(country=""), dict(country="FR", vat_code="12"),
                          dict(country="FR", vat_code="FR" + "1" * 20),
                          dict(country="FR", organisation="x" * 256),
                          dict(country="FR", email="not an address"),
                          dict(country="FR", address="a\x00b")):
            self.assertRaises(errors.Invalid, self.call, "billing.set_profile", self.alice,
                              **arguments)
        self.assertRaises(errors.NotFound, self.call, "billing.get_profile", self.alice)

    def test_the_seller_is_an_admin_s_to_set_and_anyone_s_to_read(self):
        self.assertRaises(errors.NotFound, self.call, "billing.get_seller", self.alice)
        seller = self.call("billing.set_seller", self.admin, legal_name="Nexedi SA", country="FR",
                           address="147 rue du Ballon\n59110 La Madeleine",
                           registration="RCS Lille 440 047 504", vat_code="FR40440047504")
        self.assertEqual(self.call("billing.get_seller", self.bob), seller)
        self.assertRaises(errors.Forbidden, self.call, "billing.set_seller", self.alice,
                          legal_name="Me", country="FR")
        self.assertRaises(errors.Invalid, self.call, "billing.set_seller", self.admin,
                          legal_name=" ", country="FR")
