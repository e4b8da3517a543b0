"""spyne types of the SOAP adaptor, and the conversions between them and slap_core data.

Result types are derived from the dataclasses of ``slap_core.views`` by :func:`view_model`:
``str`` is a required ``xs:string``, ``X | None`` an optional element (left out when None),
``int`` ``xs:long`` (timestamps are microseconds), ``float`` ``xs:double``, ``bool``
``xs:boolean``, a ``dict`` a :class:`ParameterList` and a ``tuple`` a repeated element whose type
:data:`TUPLE_ITEMS` names. Flat string maps (instance parameters, SLA, connection parameters,
computer attributes) are ``<entry><key>k</key><value>v</value></entry>`` sequences, the SOAP
shape of ``schemas/instance_parameters.xsd``.
"""

import dataclasses
import json
import types as pytypes

from spyne.model.binary import ByteArray
from spyne.model.complex import ComplexModel
from spyne.model.primitive import Boolean, Double, Long, Unicode

from slap_core import errors, views

NS = "urn:slapgate:soap"


class Entry(ComplexModel):
    """One ``key`` -> ``value`` pair of a flat string map (a missing value is None)."""

    __namespace__ = NS
    _type_info = [
        ("key", Unicode(min_occurs=1, nillable=False)),
        ("value", Unicode(min_occurs=0, nillable=True)),
    ]


class ParameterList(ComplexModel):
    """A flat string map: instance parameters, SLA, connection parameters, attributes."""

    __namespace__ = NS
    _type_info = [("entry", Entry.customize(min_occurs=0, max_occurs="unbounded", nillable=False))]


class IpAddress(ComplexModel):
    """An (interface, address) pair of ``ip_list``."""

    __namespace__ = NS
    _type_info = [
        ("network_interface", Unicode(min_occurs=1, nillable=False)),
        ("address", Unicode(min_occurs=1, nillable=False)),
    ]


class FullIpAddress(ComplexModel):
    """An (interface, address, gateway, netmask, network) entry of ``full_ip_list``."""

    __namespace__ = NS
    _type_info = [
        ("network_interface", Unicode(min_occurs=1, nillable=False)),
        ("address", Unicode(min_occurs=1, nillable=False)),
        ("gateway", Unicode(min_occurs=0, nillable=False)),
        ("netmask", Unicode(min_occurs=0, nillable=False)),
        ("network", Unicode(min_occurs=0, nillable=False)),
    ]


class PartitionAddress(ComplexModel):
    """One address of a partition in a computer configuration."""

    __namespace__ = NS
    _type_info = [
        ("addr", Unicode(min_occurs=1, nillable=False)),
        ("netmask", Unicode(min_occurs=0, nillable=False)),
    ]


class PartitionConfiguration(ComplexModel):
    """One partition as ``node format`` found it."""

    __namespace__ = NS
    _type_info = [
        ("reference", Unicode(min_occurs=1, nillable=False)),
        ("address", PartitionAddress.customize(min_occurs=0, max_occurs="unbounded",
                                               nillable=False)),
        ("tap_name", Unicode(min_occurs=0, nillable=False)),
        ("capability", Unicode(min_occurs=0, max_occurs="unbounded", nillable=False)),
    ]


class ComputerConfiguration(ComplexModel):
    """What ``node format`` found on a computer: its address and its partitions."""

    __namespace__ = NS
    _type_info = [
        ("address", Unicode(min_occurs=0, nillable=False)),
        ("netmask", Unicode(min_occurs=0, nillable=False)),
        ("partition", PartitionConfiguration.customize(min_occurs=0, max_occurs="unbounded",
                                                       nillable=False)),
    ]


def _fields(model, values):
    """A ``model`` instance from positional ``values`` in the order of its fields."""
    return model(**dict(zip(model._type_info.keys(), values)))


# Element types of the tuple fields of the views: a spyne model, and how to build one item.
TUPLE_ITEMS = {
    ("PersonView", "roles"): (Unicode, str),
    ("InstanceView", "ip_list"): (IpAddress, lambda t: _fields(IpAddress, t)),
    ("InstanceView", "full_ip_list"): (FullIpAddress, lambda t: _fields(FullIpAddress, t)),
}


# Fields annotated ``str`` in slap_core.views that hold None in practice (an unnamed person).
NULLABLE = {("PersonView", "full_name"), ("PersonView", "email")}


def _model_of(view, field):
    annotation = field.type
    optional = (view.__name__, field.name) in NULLABLE
    if isinstance(annotation, pytypes.UnionType):
        members = [a for a in annotation.__args__ if a is not type(None)]
        optional = optional or len(members) < len(annotation.__args__)
        (annotation,) = members
    if annotation is dict:
        return ParameterList.customize(min_occurs=0 if optional else 1, nillable=False)
    if annotation is tuple:
        model, _ = TUPLE_ITEMS[(view.__name__, field.name)]
        return model.customize(min_occurs=0, max_occurs="unbounded", nillable=False)
    model = {str: Unicode, int: Long, float: Double, bool: Boolean, bytes: ByteArray}[annotation]
    return model(min_occurs=0 if optional else 1, nillable=False)


# The models made so far: by view class, and each list model by its item model.
MODELS = {}
LISTS = {}


def view_model(view, name):
    """A spyne ComplexModel named ``name`` with the fields of the view dataclass ``view``."""
    fields = [(f.name, _model_of(view, f)) for f in dataclasses.fields(view)]
    model = type(name, (ComplexModel,), {
        "__namespace__": NS, "__doc__": view.__doc__, "_type_info": fields})
    model._slapgate_view = view
    MODELS[view] = model
    return model


def list_model(item, name):
    """A ComplexModel holding a repeated ``item`` element; as an operation's answer, its items
    are the repeated ``result`` elements themselves (:func:`answer_type`)."""
    model = type(name, (ComplexModel,), {
        "__namespace__": NS,
        "_type_info": [("item", item.customize(min_occurs=0, max_occurs="unbounded",
                                               nillable=False))]})
    model.slapgate_items = item
    LISTS[item] = model
    return model


def model_of(view):
    """The spyne model of a view class of ``slap_core.views``."""
    return MODELS[view]


def list_of(model):
    """The list model whose items are ``model``."""
    return LISTS[model]


def answer_type(model):
    """The type of an operation's ``result`` element: a list model's items repeated (none at
    all for an empty list, which zeep hands back as ``[]``; an empty wrapper element it hands
    back as None), any other model as it is."""
    item = getattr(model, "slapgate_items", None)
    if item is None:
        return model
    return item.customize(min_occurs=0, max_occurs="unbounded", nillable=False)


def answer_value(model, value):
    """What :func:`answer_type` carries: the items of a list model's value, else the value."""
    if getattr(model, "slapgate_items", None) is None or value is None:
        return value
    return list(value.item or [])


Person = view_model(views.PersonView, "Person")
Computer = view_model(views.ComputerView, "Computer")
Supply = view_model(views.SupplyView, "Supply")
Instance = view_model(views.InstanceView, "Instance")
ComputerList = list_model(Computer, "ComputerList")
ComputerRevision = view_model(views.ComputerRevision, "ComputerRevision")
ComputerRevisionList = list_model(ComputerRevision, "ComputerRevisionList")
SupplyList = list_model(Supply, "SupplyList")
InstanceList = list_model(Instance, "InstanceList")
PersonList = list_model(Person, "PersonList")
Release = view_model(views.ReleaseView, "Release")
ReleaseList = list_model(Release, "ReleaseList")
TUPLE_ITEMS[("ProductView", "releases")] = (Release, lambda r: encode(Release, r))
Product = view_model(views.ProductView, "Product")
ProductList = list_model(Product, "ProductList")
StringList = list_model(Unicode, "StringList")
Address = view_model(views.AddressView, "Address")
TUPLE_ITEMS[("PartitionView", "addresses")] = (Address, lambda a: encode(Address, a))
Partition = view_model(views.PartitionView, "Partition")
Software = view_model(views.SoftwareView, "Software")
TUPLE_ITEMS[("ComputerInformation", "software")] = (Software, lambda s: encode(Software, s))
TUPLE_ITEMS[("ComputerInformation", "partitions")] = (Partition, lambda p: encode(Partition, p))
ComputerInformation = view_model(views.ComputerInformation, "ComputerInformation")
TUPLE_ITEMS[("TreeView", "instances")] = (Unicode, str)
Tree = view_model(views.TreeView, "Tree")
TreeList = list_model(Tree, "TreeList")
TUPLE_ITEMS[("DestroyOutcome", "waiting_for")] = (Unicode, str)
DestroyOutcome = view_model(views.DestroyOutcome, "DestroyOutcome")
UsageRecord = view_model(views.UsageRecordView, "UsageRecord")
UsageRecordList = list_model(UsageRecord, "UsageRecordList")
UsageReportOutcome = view_model(views.UsageReportOutcome, "UsageReportOutcome")
IpAddressList = list_model(IpAddress, "IpAddressList")
Certificate = view_model(views.CertificateView, "Certificate")
CertificateList = list_model(Certificate, "CertificateList")
TUPLE_ITEMS[("CertificateIdentity", "roles")] = (Unicode, str)
NULLABLE.update({("CertificateIdentity", "computer"), ("CertificateIdentity", "partition"),
                 ("CertificateIdentity", "login")})
CertificateIdentity = view_model(views.CertificateIdentity, "CertificateIdentity")
RevokedCertificate = view_model(views.RevokedCertificate, "RevokedCertificate")
RevokedCertificateList = list_model(RevokedCertificate, "RevokedCertificateList")
Token = view_model(views.TokenView, "Token")
TokenList = list_model(Token, "TokenList")
TUPLE_ITEMS[("TokenIdentity", "roles")] = (Unicode, str)
TokenIdentity = view_model(views.TokenIdentity, "TokenIdentity")
SubscriptionPrice = view_model(views.SubscriptionPriceView, "SubscriptionPrice")
UsagePrice = view_model(views.UsagePriceView, "UsagePrice")
TUPLE_ITEMS[("PriceListView", "subscriptions")] = (SubscriptionPrice,
                                                   lambda p: encode(SubscriptionPrice, p))
TUPLE_ITEMS[("PriceListView", "usage")] = (UsagePrice, lambda p: encode(UsagePrice, p))
PriceList = view_model(views.PriceListView, "PriceList")
Subscription = view_model(views.SubscriptionView, "Subscription")
SubscriptionList = list_model(Subscription, "SubscriptionList")
ConsumptionLine = view_model(views.ConsumptionLineView, "ConsumptionLine")
TUPLE_ITEMS[("ConsumptionView", "lines")] = (ConsumptionLine,
                                             lambda line: encode(ConsumptionLine, line))
TUPLE_ITEMS[("ConsumptionView", "unpriced")] = (Unicode, str)
Consumption = view_model(views.ConsumptionView, "Consumption")
TUPLE_ITEMS[("InvoiceView", "lines")] = (ConsumptionLine,
                                         lambda line: encode(ConsumptionLine, line))
Invoice = view_model(views.InvoiceView, "Invoice")
InvoiceSummary = view_model(views.InvoiceSummaryView, "InvoiceSummary")
InvoiceSummaryList = list_model(InvoiceSummary, "InvoiceSummaryList")
TUPLE_ITEMS[("InvoiceRunView", "issued")] = (Unicode, str)
TUPLE_ITEMS[("InvoiceRunView", "unpriced")] = (Unicode, str)
InvoiceRun = view_model(views.InvoiceRunView, "InvoiceRun")
BillingProfile = view_model(views.BillingProfileView, "BillingProfile")
Seller = view_model(views.SellerView, "Seller")
SyncPartnership = view_model(views.SyncPartnershipView, "SyncPartnership")
SoftwareTypeSchema = view_model(views.SoftwareTypeSchemaView, "SoftwareTypeSchema")
TUPLE_ITEMS[("ReleaseSchemaView", "types")] = (SoftwareTypeSchema,
                                               lambda t: encode(SoftwareTypeSchema, t))
ReleaseSchema = view_model(views.ReleaseSchemaView, "ReleaseSchema")
InvoiceDocument = view_model(views.InvoiceDocumentView, "InvoiceDocument")
TicketMessage = view_model(views.TicketMessageView, "TicketMessage")
TUPLE_ITEMS[("TicketView", "messages")] = (TicketMessage,
                                          lambda message: encode(TicketMessage, message))
Ticket = view_model(views.TicketView, "Ticket")
TicketSummary = view_model(views.TicketSummaryView, "TicketSummary")
TicketSummaryList = list_model(TicketSummary, "TicketSummaryList")
TicketAttachment = view_model(views.TicketAttachmentView, "TicketAttachment")
TUPLE_ITEMS[("MonitoringRunView", "opened")] = (Unicode, str)
TUPLE_ITEMS[("MonitoringRunView", "closed")] = (Unicode, str)
MonitoringRun = view_model(views.MonitoringRunView, "MonitoringRun")
Signup = view_model(views.SignupView, "Signup")
SignupList = list_model(Signup, "SignupList")
Mail = view_model(views.MailView, "Mail")
MailList = list_model(Mail, "MailList")


class SubscriptionPriceInput(ComplexModel):
    """A subscription price given to ``pricingSet``: monthly, and product, release or shared
    (none of them: the default price)."""

    __namespace__ = NS
    _type_info = [
        ("product", Unicode(min_occurs=0, nillable=False)),
        ("release", Unicode(min_occurs=0, nillable=False)),
        ("shared", Boolean(min_occurs=0, nillable=False)),
        ("monthly", Unicode(min_occurs=1, nillable=False)),
    ]


class UsagePriceInput(ComplexModel):
    """A usage price given to ``pricingSet``."""

    __namespace__ = NS
    _type_info = [
        ("resource", Unicode(min_occurs=1, nillable=False)),
        ("unit", Unicode(min_occurs=0, nillable=False)),
        ("unit_price", Unicode(min_occurs=1, nillable=False)),
    ]


def structures(items):
    """Repeated input structures as the list of dicts the core takes (elements left out: out)."""
    return [{name: getattr(item, name) for name in item._type_info
             if getattr(item, name) is not None} for item in items or ()]


class ComputerStatus(ComplexModel):
    """A computer's latest news: its text and, when there is news, its time."""

    __namespace__ = NS
    _type_info = [
        ("text", Unicode(min_occurs=1, nillable=False)),
        ("at", Double(min_occurs=0, nillable=False)),
    ]


def encode(model, value):
    """A view dataclass as an instance of its spyne ``model`` (None stays None)."""
    if value is None:
        return None
    view = type(value)
    arguments = {}
    for field in dataclasses.fields(view):
        item = getattr(value, field.name)
        if item is None:
            continue
        if isinstance(item, dict):
            item = from_dict(item)
        elif isinstance(item, tuple):
            item = [TUPLE_ITEMS[(view.__name__, field.name)][1](i) for i in item]
        elif isinstance(item, bytes):
            item = [item]  # spyne's ByteArray is a sequence of chunks
        arguments[field.name] = item
    return model(**arguments)


def encode_list(model, values):
    """A list of views as a :func:`list_model` instance."""
    item = model._type_info["item"]
    item = getattr(item, "__orig__", None) or item  # the model, not its repeated customization
    return model(item=[encode(item, v) for v in values])


def encode_strings(model, values):
    """A list of strings as a :func:`list_model` of ``Unicode`` (``StringList``)."""
    return model(item=[str(v) for v in values])


def encode_ip_list(model, values):
    """(interface, address) pairs as an ``IpAddressList``."""
    return model(item=[_fields(IpAddress, v) for v in values])


def encode_status(model, value):
    """``computer.status``'s ``{text, at}`` as a ``ComputerStatus``."""
    return model(text=value["text"], at=value.get("at"))


def encode_value(model, value):
    """A plain value (a count) answered as it is."""
    return value


def encode_nothing(model, value):
    """An operation that answers nothing (an empty response element)."""
    return None


def _text(value):
    """A map value as text: strings as they are, lists and maps as JSON, others with str()."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def from_dict(mapping):
    """A flat map as a ParameterList (keys sorted, so answers are stable)."""
    return ParameterList(entry=[Entry(key=str(k), value=None if v is None else _text(v))
                                for k, v in sorted(mapping.items())])


def to_dict(parameters):
    """A ParameterList as a dict; a key given twice is Invalid."""
    result = {}
    for entry in parameters.entry or ():
        if entry.key in result:
            raise errors.Invalid("parameter %r is given twice" % (entry.key,))
        result[entry.key] = entry.value
    return result


def configuration_to_dict(configuration):
    """A ComputerConfiguration as the dict ``computer.format`` takes."""
    result = {"partition_list": []}
    if configuration.address:
        result["address"] = configuration.address
    if configuration.netmask:
        result["netmask"] = configuration.netmask
    for partition in configuration.partition or ():
        entry = {
            "reference": partition.reference,
            "address_list": [
                {k: v for k, v in (("addr", a.addr), ("netmask", a.netmask)) if v}
                for a in partition.address or ()
            ],
            "capability_list": list(partition.capability or ()),
        }
        if partition.tap_name:
            entry["tap"] = {"name": partition.tap_name}
        result["partition_list"].append(entry)
    return result
