"""The documents of an invoice (``invoice.document``): HTML from a Jinja2 template
(``slap_core/templates/invoice.html``, autoescaped), and PDF made from that same HTML by
WeasyPrint, which is refused every external resource (the document needs none)."""

import os

import jinja2

from slap_core import errors
from slap_core.billing import day
from slap_core.invoices import get_invoice
from slap_core.operations import operation
from slap_core.views import InvoiceDocumentView

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(__file__), "templates")),
    autoescape=True, undefined=jinja2.StrictUndefined)
_KINDS = {"subscription": "Subscription", "usage": "Usage", "late_usage": "Late usage"}
_PARTY_FIELDS = ("name", "organisation", "address", "country", "registration", "vat_code",
                 "email")


def _party(snapshot):
    """A seller or buyer snapshot with every field the template reads (None when absent)."""
    return jinja2.utils.Namespace(**{name: snapshot.get(name) for name in _PARTY_FIELDS})


def render_html(invoice):
    """The HTML document of an InvoiceView."""
    if invoice.kind == "credit_note":
        state = "issued"
    elif invoice.state == "paid":
        state = "paid on %s (%s)" % (day(invoice.paid_at), invoice.payment_reference)
    elif invoice.state == "credited":
        state = "cancelled by credit note %s" % invoice.credited_by
    else:
        state = "issued, to be paid"
    buyer = dict(invoice.buyer or {})
    buyer.setdefault("name", invoice.person)
    return _TEMPLATES.get_template("invoice.html").render(
        invoice=invoice, title="Credit note" if invoice.kind == "credit_note" else "Invoice",
        seller=_party(invoice.seller) if invoice.seller else None, buyer=_party(buyer),
        issued=day(invoice.issued_at), period_from=day(invoice.period_start),
        period_to=day(invoice.period_end - 1), state=state, kinds=_KINDS)


def _no_fetching(url, *args, **kwargs):
    raise ValueError("an invoice document loads nothing: %s" % url[:100])


def render_pdf(html):
    """The PDF of an HTML document (WeasyPrint), loading no external resource."""
    import weasyprint  # imported here: loading it costs a second, and only PDFs need it

    return weasyprint.HTML(string=html, url_fetcher=_no_fetching).write_pdf()


@operation("invoice.document", writes=False,
           callers="the person billed, admin and accountant", returns=InvoiceDocumentView,
           raises=((errors.NotFound, "no such invoice, or another's"),
                   (errors.Invalid, "a format other than html or pdf")))
def invoice_document(session, principal, *, number, format="pdf"):
    """An invoice or credit note as a document: ``html`` or ``pdf`` (the default)."""
    if format not in FORMATS:
        raise errors.Invalid("an invoice document is html or pdf, not %r"
                             % (str(format)[:20],))
    invoice = get_invoice(session, principal, number=number)
    html = render_html(invoice)
    content = html.encode("utf-8") if format == "html" else render_pdf(html)
    return InvoiceDocumentView(number=invoice.number, media_type=FORMATS[format],
                               filename="%s-%s.%s" % (invoice.kind.replace("_", "-"),
                                                      invoice.number, format),
                               content=content)
