"""Price lists: decimal strings only, a default subscription price, in force from their date."""

from unittest import mock

from slap_core import errors
from tests.fixtures import MasterTestCase

DEFAULT = {"monthly": "42.00"}


class PricingTests(MasterTestCase):
    """pricing.set and pricing.get."""

    def set_prices(self, principal=None, **arguments):
        arguments.setdefault("currency", "EUR")
        arguments.setdefault("vat_rate", "20")
        arguments.setdefault("subscriptions", [DEFAULT])
        return self.call("pricing.set", principal or self.admin, **arguments)

    def test_a_list_keeps_its_prices_as_decimal_strings(self):
        view = self.set_prices(subscriptions=[
            DEFAULT, {"shared": True, "monthly": "5"}, {"product": "kvm", "monthly": "99.5"},
            {"release": "http://sr/kvm-2.cfg", "monthly": "120.000"}],
            usage=[{"resource": "cpu_time", "unit": "s", "unit_price": "0.000125"},
                   {"resource": "disk", "unit_price": "0.01"}])
        self.assertEqual((view.currency, view.vat_rate), ("EUR", "20"))
        self.assertEqual([(s.product, s.release, s.shared, s.monthly) for s in view.subscriptions],
                         [(None, None, False, "42.00"), (None, None, True, "5"),
                          ("kvm", None, False, "99.5"), (None, "http://sr/kvm-2.cfg", False,
                                                         "120.000")])
        self.assertEqual([(u.resource, u.unit, u.unit_price) for u in view.usage],
                         [("cpu_time", "s", "0.000125"), ("disk", "unit", "0.01")])
        self.assertEqual(self.call("pricing.get", self.alice), view)

    def test_floats_negatives_and_nonsense_are_invalid_and_nothing_is_stored(self):
        for bad in ({"monthly": 42.0}, {"monthly": "-1"}, {"monthly": "NaN"},
                    {"monthly": "Infinity"}, {"monthly": "1e20"}, {"monthly": "x"},
                    {"monthly": "0.0000001"}, {"monthly": "1", "colour": "red"}):
            self.assertRaises(errors.Invalid, self.set_prices, subscriptions=[bad])
        self.assertRaises(errors.Invalid, self.set_prices, vat_rate=20.0)
        self.assertRaises(errors.Invalid, self.set_prices, vat_rate="120")
        self.assertRaises(errors.Invalid, self.set_prices, currency="EURO")
        self.assertRaises(errors.Invalid, self.set_prices, currency="XYZ")
        self.assertRaises(errors.Invalid, self.set_prices,
                          usage=[{"resource": "disk", "unit_price": 0.5}])
        self.assertRaises(errors.Invalid, self.set_prices,
                          usage=[{"resource": "disk", "unit_price": "1"},
                                 {"resource": "disk", "unit_price": "2"}])
        self.assertRaises(errors.NotFound, self.call, "pricing.get", self.alice)

    def test_a_list_needs_a_default_price_and_no_price_twice(self):
        error = self.assertRaises(errors.Invalid, self.set_prices,
                                  subscriptions=[{"product": "kvm", "monthly": "1"}])
        self.assertIn("default subscription price", str(error))
        self.assertRaises(errors.Invalid, self.set_prices, subscriptions=[DEFAULT, DEFAULT])
        self.assertRaises(errors.Invalid, self.set_prices,
                          subscriptions=[DEFAULT, {"shared": True, "product": "kvm",
                                                   "monthly": "1"}])

    def test_a_new_list_takes_over_from_its_date_and_never_reaches_back(self):
        with mock.patch("slap_core.pricing.now", return_value=1000.0):
            first = self.set_prices()
            second = self.set_prices(subscriptions=[{"monthly": "50"}], effective_from=2000.0)
            self.assertRaises(errors.Invalid, self.set_prices, effective_from=500.0)
            self.assertEqual(self.call("pricing.get", self.alice), first)
        self.assertEqual(self.call("pricing.get", self.alice, at=1999.0), first)
        self.assertEqual(self.call("pricing.get", self.alice, at=2000.0), second)
        self.assertRaises(errors.NotFound, self.call, "pricing.get", self.alice, at=999.0)

    def test_only_an_admin_sets_prices(self):
        for principal in (self.alice, self.operator):
            self.assertRaises(errors.Forbidden, self.set_prices, principal)
