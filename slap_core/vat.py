"""Which VAT rate an invoice applies, as data: the first of :data:`RULES` that matches the seller
and the buyer decides; when none does (the seller or the buyer has no country), the price
list's rate applies.

The rules are the upstream B2B set for a seller in the European Union: a buyer in the seller's
country pays the rate; a business elsewhere in the Union with a VAT number pays none and the
invoice says the buyer accounts for it (reverse charge); a consumer elsewhere in the Union pays
the rate; a buyer outside the Union pays none (export of services).
"""

from dataclasses import dataclass

from slap_core.countries import EUROPEAN_UNION

REVERSE_CHARGE = ("Reverse charge: VAT to be accounted for by the recipient "
                  "(Article 196, Council Directive 2006/112/EC)")
OUTSIDE_THE_UNION = "VAT not applicable: services supplied outside the European Union"


@dataclass(frozen=True)
class VatRule:
    """When a rule applies (None: whatever it is) and what it says: ``rate`` in per cent (None:
    the price list's) and the ``note`` printed on the invoice."""

    name: str
    same_country: bool | None = None
    seller_in_union: bool | None = None
    buyer_in_union: bool | None = None
    business: bool | None = None
    rate: str | None = None
    note: str | None = None

    def matches(self, facts):
        """True when every condition of the rule holds in ``facts`` (a dict of the same
        names)."""
        return all(wanted is None or facts[name] == wanted
                   for name, wanted in (("same_country", self.same_country),
                                        ("seller_in_union", self.seller_in_union),
                                        ("buyer_in_union", self.buyer_in_union),
                                        ("business", self.business)))


RULES = (
    VatRule("domestic", same_country=True),
    VatRule("business in the Union", seller_in_union=True, buyer_in_union=True, business=True,
            rate="0", note=REVERSE_CHARGE),
    VatRule("consumer in the Union", seller_in_union=True, buyer_in_union=True, business=False),
    VatRule("outside the Union", seller_in_union=True, buyer_in_union=False, rate="0",
            note=OUTSIDE_THE_UNION),
)


def vat_for(seller_country, buyer_country, buyer_vat_code, list_rate):
    """(VAT rate in per cent, the note the invoice prints or None) of a sale from a seller in
    ``seller_country`` to a buyer in ``buyer_country`` (either None when unknown), a business
    when it has a ``buyer_vat_code``."""
    if not seller_country or not buyer_country:
        return list_rate, None
    facts = {"same_country": seller_country == buyer_country,
             "seller_in_union": seller_country in EUROPEAN_UNION,
             "buyer_in_union": buyer_country in EUROPEAN_UNION,
             "business": bool(buyer_vat_code)}
    for rule in RULES:
        if rule.matches(facts):
            return (list_rate if rule.rate is None else rule.rate), rule.note
    return list_rate, None
