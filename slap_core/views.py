"""Plain results of slap_core operations: immutable dataclasses adaptors encode for the wire.

They are built inside the operation's transaction, so nothing here touches the database afterwards.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonView:
    """A person as the API shows it: login, name, email, roles, whether a local password is
    set, the phone number and organisation of their contact card, whether they are disabled
    (they log in no more) and whether they set a SyncML secret (``sync.set_secret``)."""

    login: str
    full_name: str
    email: str
    roles: tuple
    has_password: bool
    phone: str = ""
    organisation: str = ""
    disabled: bool = False
    has_syncml_secret: bool = False


@dataclass(frozen=True)
class ReleaseView:
    """A software release: its URL, the product and version it belongs to if any, and whether
    it is a catalogue entry (else a release that requests or supplies named, listed while used).

    ``created`` is true only in the answer of the call that registered it. ``has_schema``: the
    master holds its parameter schema (``catalogue.release_schema``); else ``schema_error`` says
    why, when one was looked for.
    """

    url: str
    product: str | None
    version: str
    created_at: float
    catalogued: bool
    created: bool = field(default=False, compare=False)
    has_schema: bool = False
    schema_error: str | None = None


@dataclass(frozen=True)
class ProductView:
    """A software product with its releases, newest first."""

    reference: str
    title: str
    releases: tuple


@dataclass(frozen=True)
class AddressView:
    """One partition address: interface, IP and, when known, netmask, gateway and network."""

    network_interface: str
    address: str
    netmask: str = ""
    gateway: str = ""
    network: str = ""


@dataclass(frozen=True)
class ComputerView:
    """A computer (node) with its allocation settings and partition counts."""

    reference: str
    title: str
    owner: str | None
    allocation_scope: str
    network_guid: str | None
    project_guid: str | None
    attributes: dict
    address: str | None
    netmask: str | None
    partition_count: int
    free_partition_count: int
    status_text: str | None
    status_at: float | None
    created_at: float


@dataclass(frozen=True)
class ComputerRevision:
    """A computer's revision: it moves with every change its poll would show."""

    reference: str
    revision: int


@dataclass(frozen=True)
class SupplyView:
    """A release supplied to a computer: what is wanted and what the node last reported."""

    computer: str
    url: str
    desired_state: str
    reported_state: str | None
    error_text: str | None
    reported_at: float | None


@dataclass(frozen=True)
class InstanceView:
    """A software instance (regular or shared) as its owner and requester see it.

    ``state`` is the effective requested state (a stopped or destroyed root imposes its state on
    the tree); ``requested_state`` is what was asked for this instance itself. ``computer`` and
    ``partition`` locate it: for a shared instance, the partition of its host. ``created`` is true
    only in the answer of the request that created it.
    """

    reference: str
    title: str
    tree: str
    owner: str
    software_release: str
    software_type: str
    parameters: dict
    sla: dict
    requested_state: str
    state: str
    shared: bool
    allocated: bool
    computer: str | None
    partition: str | None
    host: str | None
    requester: str | None
    connection: dict
    timestamp: int
    status_text: str | None
    status_at: float | None
    ip_list: tuple
    full_ip_list: tuple
    archived: bool
    created_at: float
    created: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class PartitionView:
    """A partition as its node sees it (section 3.2 of the SLAP spec).

    A free partition has ``instance`` None, ``state`` ``destroyed`` and empty dicts. A busy one
    carries the instance parameters merged with the reserved keys of section 1.3
    (``parameter_dict``), the connection parameters, the SLA (``filter_dict``) and the access
    status text.
    """

    computer: str
    reference: str
    state: str
    instance: str | None
    title: str | None
    software_release: str | None
    software_type: str | None
    parameter_dict: dict
    connection_dict: dict
    filter_dict: dict
    access_status: str | None
    timestamp: int | None
    addresses: tuple = field(default=())


@dataclass(frozen=True)
class SoftwareView:
    """A release a node must install (``available``) or remove (``destroyed``)."""

    url: str
    state: str


@dataclass(frozen=True)
class ComputerInformation:
    """Everything a node learns in one poll: its releases and its partitions."""

    reference: str
    software: tuple
    partitions: tuple


@dataclass(frozen=True)
class TreeView:
    """An instance tree: its title, owner, effective state and the instances in it."""

    title: str
    owner: str
    state: str
    root: str | None
    instances: tuple
    archived: bool


@dataclass(frozen=True)
class DestroyOutcome:
    """What happened when a node reported a partition destroyed."""

    freed: bool
    waiting_for: tuple
    message: str


@dataclass(frozen=True)
class UsageRecordView:
    """One consumption line: how much of a resource a partition used over a period;
    ``on_computer`` when no instance consumed it (the computer's owner pays)."""

    computer: str
    partition: str
    instance: str | None
    person: str | None
    resource: str
    title: str
    quantity: float
    price: float
    category: str
    start_date: str
    stop_date: str
    on_computer: bool


@dataclass(frozen=True)
class UsageReportOutcome:
    """The result of accepting a usage journal: how many movements were recorded; ``replayed``
    when the same journal had been accepted before (it is counted once: this is that answer)."""

    report_id: int
    record_count: int
    replayed: bool = False


@dataclass(frozen=True)
class CertificateView:
    """A certificate the master issued; ``private_key`` only in the answer that hands it out.

    ``certificate`` and ``private_key`` are PEM text; times are seconds since the epoch.
    """

    serial: str
    kind: str
    common_name: str
    computer: str | None
    partition: str | None
    login: str | None
    not_after: float
    issued_at: float
    revoked_at: float | None
    certificate: str
    private_key: str | None = None


@dataclass(frozen=True)
class CertificateIdentity:
    """Who a valid certificate stands for: a computer, one of its partitions, or a person."""

    kind: str
    computer: str | None = None
    partition: str | None = None
    login: str | None = None
    roles: tuple = ()


@dataclass(frozen=True)
class RevokedCertificate:
    """One entry of the revocation list."""

    serial: str
    revoked_at: float


@dataclass(frozen=True)
class TokenView:
    """A personal API token; ``secret`` (the whole ``sgt_...`` token) only in the creation answer.

    Times are seconds since the epoch; ``expires_at`` None means it never expires.
    """

    reference: str
    label: str
    login: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    secret: str | None = None


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid API token stands for: its owner's login and roles, and the token's reference."""

    login: str
    roles: tuple
    reference: str


@dataclass(frozen=True)
class SubscriptionPriceView:
    """A monthly subscription price: of ``release``, of ``product``, of shared instances, or the
    default when none of those is set; ``monthly`` a decimal string."""

    product: str | None
    release: str | None
    shared: bool
    monthly: str


@dataclass(frozen=True)
class UsagePriceView:
    """The price of one ``unit`` of a usage ``resource``, a decimal string."""

    resource: str
    unit: str
    unit_price: str


@dataclass(frozen=True)
class PriceListView:
    """A price list: its currency (ISO 4217), VAT rate in per cent (a decimal string), when it
    takes effect (seconds since the epoch), and its prices."""

    currency: str
    vat_rate: str
    effective_from: float
    subscriptions: tuple
    usage: tuple
    created_at: float


@dataclass(frozen=True)
class SubscriptionView:
    """An instance tree as it is billed: its title and owner, the monthly price taken when it
    opened (``currency`` and ``monthly`` None when no price list was in force), from
    ``start_at`` to ``stop_at`` (None while it runs)."""

    tree: str
    owner: str
    currency: str | None
    monthly: str | None
    start_at: float
    stop_at: float | None


@dataclass(frozen=True)
class ConsumptionLineView:
    """One line of what a period costs: a subscription (``kind`` subscription, its tree), a
    resource's usage summed per tree and unit price (``kind`` usage; ``tree`` None for usage of
    the computer itself), or usage of an earlier, already invoiced ``period`` that arrived late
    (``kind`` late_usage); quantities and money as decimal strings."""

    kind: str
    tree: str | None
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    period: str


@dataclass(frozen=True)
class ConsumptionView:
    """What a person's invoice for ``period`` (``2026-12``) would be now: its lines, subtotal,
    VAT and total in ``currency`` (decimal strings); ``unpriced`` names what has no price (a
    resource, a tree opened before any price list), billed 0; ``vat_note`` the VAT rule's
    mention (reverse charge...)."""

    person: str
    period: str
    period_start: float
    period_end: float
    currency: str | None
    lines: tuple
    subtotal: str
    vat_rate: str
    vat: str
    total: str
    unpriced: tuple
    vat_note: str | None = None


@dataclass(frozen=True)
class InvoiceView:
    """An invoice, or a credit note (``kind`` credit_note, negated, naming in ``credits`` the
    invoice it cancels and in ``note`` why): its number (``2026-000001``), the person billed, the
    ``period`` billed (``2026-11``, from ``period_start`` to ``period_end``), when it was issued,
    its ``state`` (issued, paid or credited), its lines, subtotal, VAT rate, VAT and total in
    ``currency``; ``credited_by`` the credit note cancelling it; ``paid_at`` and
    ``payment_reference`` once paid; ``seller`` and ``buyer`` as they were at issue (name,
    organisation, address, country, VAT number...), and ``vat_note`` the VAT rule's mention
    (reverse charge...)."""

    number: str
    kind: str
    person: str
    period: str
    period_start: float
    period_end: float
    issued_at: float
    state: str
    currency: str
    lines: tuple
    subtotal: str
    vat_rate: str
    vat: str
    total: str
    credits: str | None = None
    credited_by: str | None = None
    note: str | None = None
    paid_at: float | None = None
    payment_reference: str | None = None
    seller: dict | None = None
    buyer: dict | None = None
    vat_note: str | None = None


@dataclass(frozen=True)
class InvoiceSummaryView:
    """An invoice or credit note (``kind``) as listed: number, person, period, issue instant,
    state, currency, total."""

    number: str
    kind: str
    person: str
    period: str
    issued_at: float
    state: str
    currency: str
    total: str


@dataclass(frozen=True)
class InvoiceRunView:
    """What an invoice run for ``period`` did: the numbers it issued, how many people had been
    invoiced for that period already, and what it billed without a price."""

    period: str
    issued: tuple
    already_invoiced: int
    unpriced: tuple


@dataclass(frozen=True)
class BillingProfileView:
    """Whom a person's invoices are made out to: ``country`` (ISO 3166), and for a business its
    ``organisation`` and ``vat_code``; ``address`` and ``email``."""

    person: str
    country: str
    organisation: str | None
    vat_code: str | None
    address: str | None
    email: str | None


@dataclass(frozen=True)
class SellerView:
    """Who the master's invoices come from: name, country (ISO 3166), address, company
    registration, VAT number, email."""

    name: str
    country: str
    address: str | None
    registration: str | None
    vat_code: str | None
    email: str | None


@dataclass(frozen=True)
class InvoiceDocumentView:
    """An invoice's document: its ``media_type`` (``application/pdf``, ``text/html;
    charset=utf-8``), a ``filename`` to save it under, and its bytes."""

    number: str
    media_type: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class SyncPartnershipView:
    """What a SyncML ``device`` of a person last agreed about ``store``: the device's anchor
    (``client_anchor``) and the master's (``server_anchor``) from the last successful session
    (empty: never synced, the next session is slow), ``mapping`` the device's item id for each
    of the master's, ``digests`` each item's digest as last exchanged, ``synced_at`` when."""

    device: str
    store: str
    client_anchor: str
    server_anchor: str
    mapping: dict
    digests: dict
    synced_at: float | None


@dataclass(frozen=True)
class SoftwareTypeSchemaView:
    """One software type of a release's schema: its entry ``id``, the ``software_type`` it
    requests, whether ``shared``, its ``title``, ``description`` and ``index`` (the lowest is
    the one to offer first), how its parameters travel (``serialisation``: xml or json-in-xml),
    and the JSON Schemas of a request and of its connection parameters (``request``,
    ``response``: JSON text, every ``$ref`` resolved; ``response`` None when not described)."""

    id: str
    software_type: str
    shared: bool
    title: str
    description: str
    index: int | None
    serialisation: str
    request: str
    response: str | None


@dataclass(frozen=True)
class ReleaseSchemaView:
    """A release's parameter schema (its software.cfg.json): ``name``, ``description``, the
    default ``serialisation`` and its software ``types``."""

    url: str
    name: str
    description: str
    serialisation: str
    types: tuple


@dataclass(frozen=True)
class TicketMessageView:
    """One message of a ticket's thread: its ``number`` (1 is the first), author, when it was
    posted, its text and, when it has one, its attachment's name, media type and size in bytes
    (``ticket.attachment`` reads the bytes). ``author`` None: the master wrote it (a monitoring
    ticket, an idle ticket closed)."""

    number: int
    author: str | None
    posted_at: float
    text: str
    attachment_name: str | None = None
    attachment_type: str | None = None
    attachment_size: int = 0


@dataclass(frozen=True)
class TicketView:
    """A support ticket with its thread: ``reference`` (TICKET-...), ``kind`` (information,
    complaint, monitoring or acknowledgement), title, ``state`` (open or closed), whose ``turn``
    it is (operator or customer), the requester, the support person it is assigned to, its
    subject (an instance ``tree`` of the requester, with its ``instance`` root, or a
    ``computer``, or neither) and its messages, oldest first."""

    reference: str
    kind: str
    title: str
    state: str
    turn: str
    requester: str
    assignee: str | None
    tree: str | None
    instance: str | None
    computer: str | None
    created_at: float
    updated_at: float
    closed_at: float | None
    messages: tuple


@dataclass(frozen=True)
class TicketSummaryView:
    """A ticket as listed: the fields of :class:`TicketView` without the thread, and how many
    messages it holds."""

    reference: str
    kind: str
    title: str
    state: str
    turn: str
    requester: str
    assignee: str | None
    tree: str | None
    instance: str | None
    computer: str | None
    created_at: float
    updated_at: float
    closed_at: float | None
    message_count: int


@dataclass(frozen=True)
class TicketAttachmentView:
    """The attachment of message ``message`` of ticket ``ticket``: its media type, the name to
    save it under, and its bytes."""

    ticket: str
    message: int
    media_type: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class MonitoringRunView:
    """What a monitoring pass (``ticket.monitor``) did: the tickets it opened and closed, and
    how many computers' last calls it wrote."""

    opened: tuple
    closed: tuple
    contacts: int


@dataclass(frozen=True)
class SignupView:
    """A sign-up request: ``reference`` (SIGNUP-...), the login, email, names and country asked
    for, its ``state`` (unconfirmed, pending, accepted, rejected or expired: unconfirmed past
    its week), when it was made, confirmed and decided, by whom and why."""

    reference: str
    login: str
    email: str
    full_name: str
    organisation: str
    country: str | None
    state: str
    created_at: float
    confirmed_at: float | None
    decided_at: float | None
    decided_by: str | None
    reason: str | None


@dataclass(frozen=True)
class MailView:
    """A mail of the master's outbox: its number, recipient, subject and text, when it was
    queued and sent, how many attempts failed and the last one's error."""

    number: int
    recipient: str
    subject: str
    body: str
    created_at: float
    sent_at: float | None
    attempts: int
    last_error: str | None
