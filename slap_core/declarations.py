"""What an operation takes and answers, in the core's own terms: the kinds of values, the
declared arguments and results, and the glossary of argument names the operations share.

An operation's declaration (:func:`slap_core.operations.operation`) is its function's keyword
arguments (their names, and required when they have no default), each one's kind and meaning
from :data:`GLOSSARY` (``namespace.name`` first, then ``name``), the kind of its result and the
errors it raises. Every face derives its description of the operation from it.
"""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A kind of value: ``name`` in words (``a string``), ``wire`` the XML-RPC type name, and
    ``accepts(value)`` deciding whether a given value is one (None is left to the operation)."""

    name: str
    wire: str
    accepts: object

    def __repr__(self):
        return self.name


def _scalars_map(value):
    return isinstance(value, dict) and all(
        isinstance(key, str) and (item is None or isinstance(item, (str, bool, int, float)))
        for key, item in value.items())


def _strings(value):
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def _integer(value):
    # JSON has one number type: 3.0 is an integer there (JSON Schema says so too).
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TEXT = Kind("a string", "string", lambda value: isinstance(value, str))
INTEGER = Kind("an integer", "int", _integer)
NUMBER = Kind("a number", "double", _number)
FLAG = Kind("a boolean", "boolean", lambda value: isinstance(value, bool))
PARAMETERS = Kind("a mapping of names to string values", "struct", _scalars_map)
TEXTS = Kind("a list of strings", "array", _strings)
STRUCTURE = Kind("a structure", "struct", lambda value: isinstance(value, dict))
DOCUMENT = Kind("an XML document (text or UTF-8 bytes)", "string",
                lambda value: isinstance(value, (str, bytes)))
# A credential that is not a valid one is Unauthenticated whatever its type: nothing is refused
# as wrongly typed before the check, so a wrong type tells a caller nothing more than a wrong value.
CREDENTIAL = Kind("a string", "string", lambda value: True)
DECIMAL = Kind("a decimal number written as a string ('42.00')", "string",
               lambda value: isinstance(value, str))
STRUCTURES = Kind("a list of structures", "array", lambda value: isinstance(
    value, (list, tuple)) and all(isinstance(item, dict) for item in value))
# An attachment's bytes; text-only wires (JSON, SOAP strings) give them as base64 text.
ATTACHMENT = Kind("bytes, or their base64 text", "base64",
                  lambda value: isinstance(value, (str, bytes)))
NOTHING = Kind("nothing", "boolean", lambda value: value is None)
ADDRESS_PAIRS = Kind("a list of (network interface, address) pairs", "array", _strings)


@dataclass(frozen=True)
class Argument:
    """One declared argument: its name, kind, whether it is required, and what it means."""

    name: str
    kind: Kind
    required: bool
    doc: str

    def describe(self):
        """``title (a string): the instance's title``, ``optional`` marked."""
        return "%s (%s%s): %s" % (self.name, self.kind.name,
                                  "" if self.required else ", optional", self.doc)


@dataclass(frozen=True)
class Result:
    """What an operation answers: one item (a view class of ``slap_core.views`` or a Kind),
    or a list of them."""

    item: object
    many: bool = False

    @property
    def wire(self):
        """The XML-RPC type name of the answer."""
        if self.many:
            return "array"
        return self.item.wire if isinstance(self.item, Kind) else "struct"

    def describe(self):
        """``an InstanceView``, ``a list of: an InstanceView``, ``an integer``."""
        if isinstance(self.item, Kind):
            name = self.item.name
        else:
            name = ("an " if self.item.__name__[0] in "AEIOU" else "a ") + self.item.__name__
        return "a list of: " + name if self.many else name


def result_of(declared):
    """The Result of an ``@operation(returns=...)`` value: a view class, a Kind, None (nothing),
    or a one-item list of either (a list of them)."""
    many = isinstance(declared, list)
    item = declared[0] if many else declared
    if many and len(declared) != 1:
        raise ValueError("returns=[item] names exactly one item")
    if item is None:
        item = NOTHING
    if not (isinstance(item, Kind) or dataclasses.is_dataclass(item)):
        raise ValueError("returns is a view class, a Kind or None, not %r" % (item,))
    return Result(item, many)


def _g(kind, doc):
    return (kind, doc)


# Argument names and what they mean; ``namespace.name`` where one name means different things.
GLOSSARY = {
    "allocation_scope": _g(TEXT, "open (anyone's instances), open/personal (the owner's only) "
                                 "or close (no new instance)"),
    "attributes": _g(PARAMETERS, "the computer's category attributes (name -> value)"),
    "at": _g(NUMBER, "an instant, in seconds since the epoch (default: now)"),
    "currency": _g(TEXT, "an ISO 4217 currency code (EUR, USD, JPY...)"),
    "effective_from": _g(NUMBER, "when it takes effect, in seconds since the epoch (default: "
                                 "now; never in the past)"),
    "subscriptions": _g(STRUCTURES, "monthly subscription prices, each {monthly, and product, "
                                    "release or shared: true, or none of them for the "
                                    "default}"),
    "usage": _g(STRUCTURES, "usage prices, each {resource, unit, unit_price}"),
    "vat_rate": _g(DECIMAL, "the VAT rate in per cent, a decimal string ('20')"),
    "common_name": _g(TEXT, "the certificate's subject common name"),
    "computer": _g(TEXT, "a computer's reference (COMP-...)"),
    "configuration": _g(STRUCTURE, "what node format found: address, netmask and partition_list "
                                   "(section 5.7 of the SLAP spec)"),
    "connection": _g(PARAMETERS, "the connection parameters to publish (name -> value)"),
    "document": _g(DOCUMENT, "the TioXML usage journal"),
    "email": _g(TEXT, "the person's email address"),
    "error_text": _g(TEXT, "what failed (the end of a long text is kept)"),
    "expires_in": _g(NUMBER, "seconds until the token expires (none: it does not)"),
    "full_name": _g(TEXT, "the person's full name"),
    "phone": _g(TEXT, "the person's phone number"),
    "disabled": _g(FLAG, "whether the person may no longer log in (admins; left out: kept)"),
    "person.organisation": _g(TEXT, "the organisation the person belongs to"),
    "include_archived": _g(FLAG, "include destroyed ones (default false)"),
    "include_closed": _g(FLAG, "include closed ones (default false)"),
    "include_revoked": _g(FLAG, "include revoked ones (default false)"),
    "kind": _g(TEXT, "computer, partition or user: whom the certificate names"),
    "label": _g(TEXT, "what the token is for, in the owner's words"),
    "limit": _g(INTEGER, "the most items to handle or answer"),
    "login": _g(TEXT, "a person's login"),
    "consumption.login": _g(TEXT, "the person whose consumption to read (default: yourself)"),
    "invoice.login": _g(TEXT, "the person whose invoices to list (default: yourself; an admin "
                              "or an accountant: everyone's)"),
    "number": _g(TEXT, "an invoice's number (2026-000001)"),
    "country": _g(TEXT, "an ISO 3166 country code (FR, DE, US...): it decides the VAT rule"),
    "organisation": _g(TEXT, "the organisation invoiced (a business)"),
    "vat_code": _g(TEXT, "a VAT identification number, country prefix first (FR40303265045)"),
    "address": _g(TEXT, "a postal address, its lines separated by newlines"),
    "billing.email": _g(TEXT, "where invoices go"),
    "billing.login": _g(TEXT, "the person whose billing profile (default: yourself)"),
    "legal_name": _g(TEXT, "the seller's legal name, as invoices print it"),
    "registration": _g(TEXT, "the seller's company registration code"),
    "amount": _g(DECIMAL, "an amount, a decimal string ('45.36')"),
    "paid_at": _g(NUMBER, "when it was paid, in seconds since the epoch (default: now)"),
    "reason": _g(TEXT, "why, in words"),
    "format": _g(TEXT, "the document's format: pdf (the default) or html"),
    "invoice.reference": _g(TEXT, "the payment's own reference (a bank transfer's...)"),
    "period": _g(TEXT, "a billing period: a calendar month in UTC, written YYYY-MM (2026-11)"),
    "subscription.login": _g(TEXT, "the person whose subscriptions to list (default: yourself)"),
    "message": _g(TEXT, "a message for the news of what is reported"),
    "network_guid": _g(TEXT, "the network the computer belongs to"),
    "new_name": _g(TEXT, "the instance's new title"),
    "parameters": _g(PARAMETERS, "the instance parameters (name -> value); left out: kept"),
    "partition": _g(TEXT, "a partition's reference on its computer (slappart...)"),
    "password": _g(TEXT, "a password (empty: none)"),
    "product": _g(TEXT, "a software product's reference"),
    "product_title": _g(TEXT, "the title of a product created by this call"),
    "project_guid": _g(TEXT, "the project the computer belongs to"),
    "reference": _g(TEXT, "the reference of the thing named"),
    "computer.reference": _g(TEXT, "a computer's reference (COMP-...)"),
    "instance.reference": _g(TEXT, "an instance's reference (SOFTINST-...)"),
    "token.reference": _g(TEXT, "a token's reference (16 hexadecimal digits)"),
    "references": _g(TEXTS, "computers' references"),
    "roles": _g(TEXTS, "roles among admin, operator, accountant, support and user"),
    "serial": _g(TEXT, "a certificate's serial number, in hexadecimal"),
    "shared": _g(FLAG, "a shared instance, hosted by a regular one (default false)"),
    "sla": _g(PARAMETERS, "where the instance may run (computer_guid, network_guid, ...); left "
                          "out: kept"),
    "slave_reference": _g(TEXT, "the shared instance hosted on the partition this is about"),
    "software_release": _g(TEXT, "a software release URL"),
    "software_type": _g(TEXT, "the software type (default: default); left out: kept"),
    "state": _g(TEXT, "the state asked for"),
    "instance.state": _g(TEXT, "started, stopped or destroyed; left out: kept (started when new)"),
    "supply.state": _g(TEXT, "available or destroyed (supply); building, available, error or "
                             "destroyed (report)"),
    "title": _g(TEXT, "an instance title, unique among its requester's"),
    "computer.title": _g(TEXT, "the computer's title"),
    "token": _g(CREDENTIAL, "a personal API token's secret (sgt_...)"),
    "tree": _g(TEXT, "an instance tree's title (its root instance's)"),
    "url": _g(TEXT, "a software release URL"),
    "version": _g(TEXT, "the release's version within its product"),
    "schema": _g(TEXT, "the release's software.cfg.json, its request and response schemas "
                       "inline or relative to the release URL (left out: read from next to the "
                       "URL)"),
    "secret": _g(CREDENTIAL, "a SyncML secret, 8 to 1024 characters (empty: none)"),
    "nonce": _g(TEXT, "the nonce the master gave the device (base64, as in NextNonce)"),
    "response": _g(TEXT, "the device's syncml:auth-md5 credential (base64)"),
    "device": _g(TEXT, "a SyncML device's id (its SyncHdr Source LocURI)"),
    "store": _g(TEXT, "a SyncML store's name (contacts, instances...)"),
    "client_anchor": _g(TEXT, "the device's anchor (its Next) of the session that ended"),
    "server_anchor": _g(TEXT, "the master's anchor (its Next) of the session that ended"),
    "mapping": _g(PARAMETERS, "the device's item id (LUID) for each of the master's (GUID)"),
    "digests": _g(PARAMETERS, "each item's digest as last exchanged, by the master's id"),
    "ticket.kind": _g(TEXT, "information or complaint (the default: information); support "
                            "and admins also monitoring and acknowledgement"),
    "ticket.login": _g(TEXT, "the person whose tickets (default: yourself; support and admins: "
                             "anyone's, and they open tickets for anyone)"),
    "ticket.reference": _g(TEXT, "a ticket's reference (TICKET-...)"),
    "ticket.title": _g(TEXT, "what the ticket is about, in a line"),
    "ticket.message": _g(INTEGER, "a message's number in its ticket (1: the first)"),
    "assignee": _g(TEXT, "the support person (or admin) to assign the ticket to (left out: "
                         "nobody)"),
    "text": _g(TEXT, "a message's text"),
    "key": _g(CREDENTIAL, "the key the sign-up mail carried"),
    "signup.country": _g(TEXT, "your country, ISO 3166 (FR, DE...): your billing profile's"),
    "signup.organisation": _g(TEXT, "your organisation, if any"),
    "signup.password": _g(TEXT, "the password to log in with, 8 to 1024 characters"),
    "signup.reference": _g(TEXT, "a sign-up's reference (SIGNUP-...)"),
    "signup.state": _g(TEXT, "unconfirmed, pending, accepted, rejected or expired"),
    "outbox.number": _g(INTEGER, "a queued mail's number"),
    "idle_after": _g(NUMBER, "seconds a ticket may wait for its customer before the master "
                             "closes it (0 or left out: never)"),
    "error_after": _g(NUMBER, "seconds an instance may stay in error before its tree gets a "
                              "monitoring ticket (0 or left out: never)"),
    "silent_after": _g(NUMBER, "seconds a computer may go without calling the master before "
                               "its owner gets a monitoring ticket (0 or left out: never)"),
    "attachment": _g(ATTACHMENT, "a file attached to the message (its bytes)"),
    "attachment_name": _g(TEXT, "the attached file's name (default: attachment)"),
    "attachment_type": _g(TEXT, "the attached file's media type (default: "
                                "application/octet-stream)"),
}


def declared_argument(operation, name, required):
    """The Argument ``name`` of ``operation`` (``ns.verb``) from the glossary; KeyError when the
    glossary has no entry for it."""
    namespace = operation.split(".", 1)[0]
    kind, doc = GLOSSARY.get("%s.%s" % (namespace, name)) or GLOSSARY[name]
    return Argument(name, kind, required, doc)
