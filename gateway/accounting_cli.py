"""``slapgate admin pricing|invoice|billing ...``: prices, invoice runs, invoices, payments,
credit notes and the seller, through the core operations as an admin."""

import argparse
import calendar
import os
import time


def _priced(text):
    """``NAME=PRICE`` -> (name, price)."""
    name, sep, price = text.rpartition("=")
    if not sep or not name or not price:
        raise argparse.ArgumentTypeError("expected NAME=PRICE, got %r" % (text,))
    return name, price


def _usage_price(text):
    """``RESOURCE[:UNIT]=UNIT_PRICE`` -> a usage price."""
    name, price = _priced(text)
    resource, _, unit = name.partition(":")
    return {"resource": resource, "unit": unit or "unit", "unit_price": price}


def _instant(text):
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS`` (UTC) -> seconds since the epoch."""
    for form in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return float(calendar.timegm(time.strptime(text, form)))
        except ValueError:
            pass
    raise argparse.ArgumentTypeError("expected YYYY-MM-DD[THH:MM:SS] (UTC), got %r" % (text,))


def add_parsers(groups):
    """Add the ``pricing``, ``invoice`` and ``billing`` groups to ``slapgate admin``."""
    pricing = groups.add_parser("pricing", help="price lists").add_subparsers(
        dest="action", required=True)
    prices = pricing.add_parser("set", help="publish a price list (in force from --from on)")
    prices.add_argument("--currency", required=True, help="ISO 4217 code (EUR, USD...)")
    prices.add_argument("--vat-rate", required=True, help="VAT rate in per cent ('20')")
    prices.add_argument("--monthly", required=True, help="the default monthly price ('42.00')")
    prices.add_argument("--shared-monthly", help="the monthly price of a shared instance")
    prices.add_argument("--product", action="append", type=_priced, default=[],
                        metavar="PRODUCT=PRICE", help="a product's monthly price (repeatable)")
    prices.add_argument("--release", action="append", type=_priced, default=[],
                        metavar="URL=PRICE", help="a release's monthly price (repeatable)")
    prices.add_argument("--usage", action="append", type=_usage_price, default=[],
                        metavar="RESOURCE[:UNIT]=PRICE",
                        help="the price of one unit of a usage resource (repeatable)")
    prices.add_argument("--from", dest="effective_from", type=_instant,
                        metavar="YYYY-MM-DD[THH:MM:SS]", help="when it takes effect (default "
                        "now; UTC)")
    show = pricing.add_parser("show", help="the price list in force (now, or --at)")
    show.add_argument("--at", type=_instant, metavar="YYYY-MM-DD[THH:MM:SS]")

    invoice = groups.add_parser("invoice", help="invoices").add_subparsers(
        dest="action", required=True)
    run = invoice.add_parser("run", help="issue the invoices of a month that has ended")
    run.add_argument("period", metavar="YYYY-MM")
    listing = invoice.add_parser("list", help="list invoices, oldest first")
    listing.add_argument("--user", help="only this person's")
    listing.add_argument("--period", metavar="YYYY-MM")
    show = invoice.add_parser("show", help="one invoice with its lines")
    show.add_argument("number")
    document = invoice.add_parser("document", help="write an invoice's PDF (or HTML)")
    document.add_argument("number")
    document.add_argument("--format", choices=("pdf", "html"), default="pdf")
    document.add_argument("--out", default=".", help="directory to write it into")
    pay = invoice.add_parser("pay", help="record that an invoice was paid in full")
    pay.add_argument("number")
    pay.add_argument("--reference", required=True, help="the payment's reference")
    pay.add_argument("--amount", help="the amount paid (must be the total)")
    pay.add_argument("--date", type=_instant, metavar="YYYY-MM-DD",
                     help="when it was paid (default now)")
    credit = invoice.add_parser("credit", help="cancel an unpaid invoice with a credit note")
    credit.add_argument("number")
    credit.add_argument("--reason", required=True)

    billing = groups.add_parser("billing", help="the seller and billing profiles") \
        .add_subparsers(dest="action", required=True)
    seller = billing.add_parser("seller", help="set who the invoices come from")
    seller.add_argument("--name", required=True)
    seller.add_argument("--country", required=True, help="ISO 3166 code (FR, DE...)")
    seller.add_argument("--address")
    seller.add_argument("--registration")
    seller.add_argument("--vat-code")
    seller.add_argument("--email")
    profile = billing.add_parser("profile", help="set whom a person's invoices are made out to")
    profile.add_argument("login")
    profile.add_argument("--country", required=True, help="ISO 3166 code (FR, DE...)")
    profile.add_argument("--organisation")
    profile.add_argument("--vat-code")
    profile.add_argument("--address")
    profile.add_argument("--email")


def call(master, me, args):
    """Run an accounting admin command; its result (None when ``args`` is not one)."""
    action = (args.group, getattr(args, "action", None))
    if action == ("pricing", "set"):
        subscriptions = [{"monthly": args.monthly}]
        if args.shared_monthly:
            subscriptions.append({"shared": True, "monthly": args.shared_monthly})
        subscriptions += [{"product": p, "monthly": m} for p, m in args.product]
        subscriptions += [{"release": r, "monthly": m} for r, m in args.release]
        return master.call("pricing.set", me, currency=args.currency, vat_rate=args.vat_rate,
                           subscriptions=subscriptions, usage=args.usage,
                           effective_from=args.effective_from)
    if action == ("pricing", "show"):
        return master.call("pricing.get", me, at=args.at)
    if action == ("invoice", "run"):
        return master.call("invoice.generate", me, period=args.period)
    if action == ("invoice", "list"):
        return master.call("invoice.list", me, login=args.user, period=args.period)
    if action == ("invoice", "show"):
        return master.call("invoice.get", me, number=args.number)
    if action == ("invoice", "document"):
        document = master.call("invoice.document", me, number=args.number, format=args.format)
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, document.filename)
        with open(path, "wb") as handle:
            handle.write(document.content)
        return {"number": document.number, "media_type": document.media_type,
                "file": os.path.abspath(path), "bytes": len(document.content)}
    if action == ("invoice", "pay"):
        return master.call("invoice.record_payment", me, number=args.number,
                           reference=args.reference, amount=args.amount, paid_at=args.date)
    if action == ("invoice", "credit"):
        return master.call("invoice.credit", me, number=args.number, reason=args.reason)
    if action == ("billing", "seller"):
        return master.call("billing.set_seller", me, legal_name=args.name, country=args.country,
                           address=args.address, registration=args.registration,
                           vat_code=args.vat_code, email=args.email)
    if action == ("billing", "profile"):
        return master.call("billing.set_profile", me, login=args.login, country=args.country,
                           organisation=args.organisation, vat_code=args.vat_code,
                           address=args.address, email=args.email)
    return None
