"""The tables of the master, as SQLAlchemy 2.x declarative classes.

Names follow SlapOS (see ``shared/spec/slap-protocol.md`` section 1). Every column that a node's
poll filters on is indexed, so one poll reads only that node's rows. The schema itself is created
and changed only by the Alembic revisions in ``slap_core/migrations``; a test checks that these
classes and the revisions agree.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from slap_core.clock import now


class Base(DeclarativeBase):
    """Declarative base of every slapgate table."""


class Person(Base):
    """A user: owns instance trees and computers. Local users carry a password hash."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # What a contact card holds besides name and email (vCard TEL and ORG).
    phone: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))
    organisation: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    # A disabled person logs in no more (password, API token, certificate); what they own stays.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # B64(MD5("login:secret")) of the person's SyncML secret: what syncml:auth-md5 hashes.
    syncml_digest: Mapped[str | None] = mapped_column(String(24))


class Computer(Base):
    """A node. ``attributes`` holds the category values SLA filters match (region, cpu_core, ...)."""

    __tablename__ = "computer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    allocation_scope: Mapped[str] = mapped_column(String(32), default="open")
    network_guid: Mapped[str | None] = mapped_column(String(255))
    project_guid: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(255))
    netmask: Mapped[str | None] = mapped_column(String(255))
    configuration: Mapped[dict] = mapped_column(JSON, default=dict)
    status_text: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[float | None] = mapped_column(Float)
    # The last time the node called the master (polls included), as the monitoring last wrote it.
    contacted_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # Bumped in the transaction of every change to what this computer's poll shows
    # (slap_core/revisions.py); the poll cache and the node's watch compare it.
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    owner: Mapped["Person | None"] = relationship()
    partitions: Mapped[list["Partition"]] = relationship(
        back_populates="computer", order_by="Partition.id"
    )


class Partition(Base):
    """A slot of a computer; busy while ``instance_id`` names the instance deployed on it.

    ``capabilities`` is a newline-separated list; as upstream, a request without a ``capability``
    SLA key only goes to partitions without any.

    Allocation sets ``instance_id`` with a compare-and-set update on a free row, so two concurrent
    requests can never take one partition; the unique constraint is the second guard.
    """

    __tablename__ = "partition"
    __table_args__ = (
        UniqueConstraint("computer_id", "reference", name="uq_partition_computer_reference"),
        Index("ix_partition_free", "slap_state", "computer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computer_id: Mapped[int] = mapped_column(ForeignKey("computer.id"), index=True)
    reference: Mapped[str] = mapped_column(String(255))
    slap_state: Mapped[str] = mapped_column(String(16), default="free")
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("software_instance.id", use_alter=True, name="fk_partition_instance"),
        unique=True,
    )
    capabilities: Mapped[str] = mapped_column(Text, default="")
    resource: Mapped[dict] = mapped_column(JSON, default=dict)

    computer: Mapped[Computer] = relationship(back_populates="partitions")
    addresses: Mapped[list["PartitionAddress"]] = relationship(
        order_by="PartitionAddress.id", cascade="all, delete-orphan"
    )
    instance: Mapped["SoftwareInstance | None"] = relationship(
        foreign_keys=[instance_id], post_update=True
    )


class PartitionAddress(Base):
    """One network address of a partition, as ``node format`` posts it."""

    __tablename__ = "partition_address"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partition_id: Mapped[int] = mapped_column(ForeignKey("partition.id"), index=True)
    network_interface: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(255))
    netmask: Mapped[str] = mapped_column(String(255), default="")
    gateway: Mapped[str] = mapped_column(String(255), default="")
    network: Mapped[str] = mapped_column(String(255), default="")


class SoftwareProduct(Base):
    """A named product of which several releases (software URLs) exist side by side."""

    __tablename__ = "software_product"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[float] = mapped_column(Float, default=now)


class SoftwareRelease(Base):
    """A buildout profile URL, optionally a release of a product; ``catalogued`` when registered
    in the catalogue (``catalogue.add_release``), not merely named by a request or a supply."""

    __tablename__ = "software_release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1024), unique=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("software_product.id"), index=True)
    version: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    catalogued: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The release's software.cfg.json, resolved (slap_core.release_schemas), or why there is none.
    parameter_schema: Mapped[dict | None] = mapped_column(JSON)
    schema_error: Mapped[str | None] = mapped_column(Text)

    product: Mapped[SoftwareProduct | None] = relationship()


class Supply(Base):
    """A software release wanted on a computer (available or destroyed) and what the node reported."""

    __tablename__ = "supply"
    __table_args__ = (UniqueConstraint("computer_id", "release_id", name="uq_supply"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computer_id: Mapped[int] = mapped_column(ForeignKey("computer.id"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("software_release.id"), index=True)
    desired_state: Mapped[str] = mapped_column(String(16), default="available")
    reported_state: Mapped[str | None] = mapped_column(String(16))
    error_text: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, default=now)

    computer: Mapped[Computer] = relationship()
    release: Mapped[SoftwareRelease] = relationship()


class InstanceTree(Base):
    """A root instance requested by a person and everything requested beneath it."""

    __tablename__ = "instance_tree"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    root_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("software_instance.id", use_alter=True, name="fk_tree_root_instance")
    )
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    owner: Mapped[Person] = relationship()
    root: Mapped["SoftwareInstance | None"] = relationship(
        foreign_keys=[root_instance_id], post_update=True
    )


class SoftwareInstance(Base):
    """A requested instance, regular (on a partition) or shared (hosted by a regular one).

    ``request_scope`` + ``title`` is unique while the instance is live: ``P<person id>`` for a root
    requested by a person, ``T<tree id>`` for an instance requested from inside a tree. Archiving a
    destroyed instance clears its scope, which frees the title for a new request. ``pending`` marks
    a live instance still without its partition (or host): creation sets it, placement, archiving
    and the allocation pass clear it.
    """

    __tablename__ = "software_instance"
    __table_args__ = (
        UniqueConstraint("request_scope", "title", name="uq_instance_request"),
        Index("ix_instance_pending", "pending", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    request_scope: Mapped[str | None] = mapped_column(String(64))
    tree_id: Mapped[int] = mapped_column(ForeignKey("instance_tree.id"), index=True)
    requester_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("software_instance.id"), index=True
    )
    release_id: Mapped[int] = mapped_column(ForeignKey("software_release.id"))
    software_type: Mapped[str] = mapped_column(String(255), default="default")
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    sla: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_state: Mapped[str] = mapped_column(String(16), default="started")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    host_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("software_instance.id"), index=True
    )
    connection: Mapped[dict] = mapped_column(JSON, default=dict)
    timestamp: Mapped[int] = mapped_column(BigInteger, default=0)
    status_text: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[float | None] = mapped_column(Float)
    # Since when the node has reported the instance in error (None: not in error).
    error_since: Mapped[float | None] = mapped_column(Float)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # True while the instance waits for a partition (or a host, if shared): the master's
    # allocation pass reads only these rows through ix_instance_pending, not every instance.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    tree: Mapped[InstanceTree] = relationship(foreign_keys=[tree_id])
    release: Mapped[SoftwareRelease] = relationship()
    requester: Mapped["SoftwareInstance | None"] = relationship(
        remote_side=[id], foreign_keys=[requester_instance_id]
    )
    host: Mapped["SoftwareInstance | None"] = relationship(
        remote_side=[id], foreign_keys=[host_instance_id]
    )
    partition: Mapped[Partition | None] = relationship(
        primaryjoin="Partition.instance_id == SoftwareInstance.id",
        foreign_keys="Partition.instance_id",
        uselist=False,
        viewonly=True,
    )


class UsageReport(Base):
    """One TioXML journal a node posted, kept verbatim."""

    __tablename__ = "usage_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computer_id: Mapped[int] = mapped_column(ForeignKey("computer.id"), index=True)
    received_at: Mapped[float] = mapped_column(Float, default=now)
    document: Mapped[str] = mapped_column(Text)
    # SHA-256 of the journal's canonical XML: the same journal posted again is counted once.
    digest: Mapped[str | None] = mapped_column(String(64))
    record_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("uq_usage_report_digest", "computer_id", "digest", unique=True),)


class UsageRecord(Base):
    """One movement of a usage journal, tied to the instance and person it was consumed for."""

    __tablename__ = "usage_record"
    # What an invoice run reads: a person's records not yet billed, by period.
    __table_args__ = (Index("ix_usage_record_billing", "person_id", "invoice_id", "stop_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("usage_report.id"), index=True)
    computer_id: Mapped[int] = mapped_column(ForeignKey("computer.id"), index=True)
    partition_reference: Mapped[str] = mapped_column(String(255), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("software_instance.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    resource: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[float] = mapped_column(Float, default=0.0)
    price: Mapped[float] = mapped_column(Float, default=0.0)
    category: Mapped[str] = mapped_column(String(255), default="")
    start_date: Mapped[str] = mapped_column(String(64), default="")
    stop_date: Mapped[str] = mapped_column(String(64), default="")
    # Consumed by no instance (the computer itself, a free partition): the computer's owner pays.
    on_computer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The instant stop_date names (the journal's arrival when it names none): its billing period.
    stop_at: Mapped[float | None] = mapped_column(Float)
    # The invoice that billed it; None until then.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))


class Certificate(Base):
    """A certificate the master's CA issued: whom it names, and whether it was revoked.

    ``kind`` is ``computer``, ``partition`` or ``user``; the row (found by the certificate's
    serial) is what decides the principal of a TLS caller, and ``revoked_at`` ends it. A partition
    certificate belongs to the instance deployed when it was issued (``instance_id``) and keeps its
    private key, because the node fetches it again (spec 5.3); other keys are never stored.
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    common_name: Mapped[str] = mapped_column(String(255))
    computer_id: Mapped[int | None] = mapped_column(ForeignKey("computer.id"), index=True)
    partition_id: Mapped[int | None] = mapped_column(ForeignKey("partition.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("software_instance.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    certificate: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[float] = mapped_column(Float, default=now)
    not_after: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)

    computer: Mapped[Computer | None] = relationship()
    partition: Mapped[Partition | None] = relationship()
    person: Mapped[Person | None] = relationship()


class ApiToken(Base):
    """A personal API token: a person's secret for scripts, stored only as a SHA-256 digest.

    The token a script presents is ``sgt_<reference>_<secret>``; the reference finds the row and
    the digest of the whole token is compared in constant time. ``revoked_at`` or a past
    ``expires_at`` ends it; ``last_used_at`` is refreshed at most once a minute.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    label: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float | None] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)

    person: Mapped[Person] = relationship()


class PriceList(Base):
    """Prices in one currency with one VAT rate, in force from ``effective_from`` until a list
    with a later date takes over. Amounts are decimal strings, never floats."""

    __tablename__ = "price_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate: Mapped[str] = mapped_column(String(40))
    effective_from: Mapped[float] = mapped_column(Float, index=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    subscriptions: Mapped[list["SubscriptionPrice"]] = relationship(
        order_by="SubscriptionPrice.id", cascade="all, delete-orphan")
    usage: Mapped[list["UsagePrice"]] = relationship(
        order_by="UsagePrice.id", cascade="all, delete-orphan")


class SubscriptionPrice(Base):
    """The monthly price of an instance tree: of one release, of one product's releases, of
    shared instances, or (none of those) the default."""

    __tablename__ = "subscription_price"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"), index=True)
    product: Mapped[str | None] = mapped_column(String(255))
    release_url: Mapped[str | None] = mapped_column(String(1024))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    monthly: Mapped[str] = mapped_column(String(40))


class UsagePrice(Base):
    """The price of one unit of a usage resource (``cpu_time``, ``disk``...)."""

    __tablename__ = "usage_price"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"), index=True)
    resource: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[str] = mapped_column(String(40))


class Subscription(Base):
    """An instance tree as it is billed: its owner, the monthly price snapshot taken when its root
    was first requested (None when no price list was in force), and while it ran."""

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_id: Mapped[int] = mapped_column(ForeignKey("instance_tree.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id"))
    currency: Mapped[str | None] = mapped_column(String(3))
    monthly: Mapped[str | None] = mapped_column(String(40))
    start_at: Mapped[float] = mapped_column(Float)
    stop_at: Mapped[float | None] = mapped_column(Float)


class Invoice(Base):
    """A person's invoice for one period, or a credit note cancelling one (``kind``), numbered
    ``YYYY-NNNNNN`` without gaps within the year of issue (both kinds share the sequence).
    Immutable once issued: a payment or a credit note changes its ``state`` only (issued, paid,
    credited). Money is in decimal strings."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("person_id", "period", "kind", name="uq_invoice_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="invoice")
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[float] = mapped_column(Float)
    period_end: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="issued")
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate: Mapped[str] = mapped_column(String(40))
    subtotal: Mapped[str] = mapped_column(String(40))
    vat: Mapped[str] = mapped_column(String(40))
    total: Mapped[str] = mapped_column(String(40))
    # A credit note: the invoice it cancels, and why.
    credits_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # Paid: when, under which reference (a bank transfer's...), recorded when.
    paid_at: Mapped[float | None] = mapped_column(Float)
    payment_reference: Mapped[str | None] = mapped_column(String(255))
    payment_recorded_at: Mapped[float | None] = mapped_column(Float)
    # Who sold and who bought, as they were at issue; the VAT rule's note (reverse charge...).
    seller: Mapped[dict | None] = mapped_column(JSON)
    buyer: Mapped[dict | None] = mapped_column(JSON)
    vat_note: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship()
    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.position")
    credits: Mapped["Invoice | None"] = relationship(remote_side=[id])


class InvoiceLine(Base):
    """One line of an invoice: a subscription, a resource's usage in the period, or usage of an
    earlier period that arrived after it was invoiced (``late_usage``, with that ``period``)."""

    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(7))
    tree: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[str] = mapped_column(String(40))
    amount: Mapped[str] = mapped_column(String(40))


class InvoiceRun(Base):
    """A period invoices were generated for: usage of it that arrives later is a late line."""

    __tablename__ = "invoice_run"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    ran_at: Mapped[float] = mapped_column(Float)


class InvoiceSequence(Base):
    """The last invoice number issued in a year: numbers are assigned in the issuing
    transaction, so none is skipped."""

    __tablename__ = "invoice_sequence"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class BillingProfile(Base):
    """Whom a person's invoices are made out to: a country (it decides the VAT rule), and for a
    business its organisation and VAT number; an address and an email."""

    __tablename__ = "billing_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    organisation: Mapped[str | None] = mapped_column(String(255))
    vat_code: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class Seller(Base):
    """The master's own identity on its invoices (one row): name, address, country, company
    registration and VAT number."""

    __tablename__ = "seller"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    address: Mapped[str | None] = mapped_column(Text)
    registration: Mapped[str | None] = mapped_column(String(64))
    vat_code: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class PartitionTenancy(Base):
    """Which instance held a partition, from ``start_at`` until ``stop_at`` (None: still does):
    usage a node reports for a partition is the tenant's at the movement's stop date."""

    __tablename__ = "partition_tenancy"
    __table_args__ = (Index("ix_partition_tenancy_partition", "partition_id", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partition_id: Mapped[int] = mapped_column(ForeignKey("partition.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("software_instance.id"))
    start_at: Mapped[float] = mapped_column(Float)
    stop_at: Mapped[float | None] = mapped_column(Float)


class SyncPartnership(Base):
    """What a person's SyncML device last agreed with the master about one store: both sides'
    anchors (each side's Next of the last successful session), the device's item ids (LUIDs) for
    the master's (GUIDs), and a digest of each item as last sent or received, from which the
    next session tells what changed on the master since."""

    __tablename__ = "sync_partnership"
    __table_args__ = (UniqueConstraint("person_id", "device", "store"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    device: Mapped[str] = mapped_column(String(255))
    store: Mapped[str] = mapped_column(String(64))
    client_anchor: Mapped[str] = mapped_column(String(64))
    server_anchor: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[dict] = mapped_column(JSON)
    digests: Mapped[dict] = mapped_column(JSON)
    synced_at: Mapped[float] = mapped_column(Float, default=now)


class Ticket(Base):
    """A support request of a person (the requester), about one of their instance trees, a
    computer they may see, or neither: its ``kind``, title, whether it is ``open`` or
    ``closed``, whose ``turn`` it is (``operator`` or ``customer``, following the messages) and
    the support person it is assigned to, if any."""

    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    tree_id: Mapped[int | None] = mapped_column(ForeignKey("instance_tree.id"), index=True)
    computer_id: Mapped[int | None] = mapped_column(ForeignKey("computer.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="open")
    turn: Mapped[str] = mapped_column(String(16), default="operator")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    closed_at: Mapped[float | None] = mapped_column(Float)
    # Opened by the master's monitoring, which closes it itself once the subject is well again.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)

    requester: Mapped[Person] = relationship(foreign_keys=[requester_id])
    assignee: Mapped["Person | None"] = relationship(foreign_keys=[assignee_id])
    tree: Mapped["InstanceTree | None"] = relationship()
    computer: Mapped["Computer | None"] = relationship()


class TicketMessage(Base):
    """One message of a ticket's thread: its author, when, the text and an optional
    attachment (name, media type, bytes)."""

    __tablename__ = "ticket_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    # None: the master itself wrote it (a monitoring ticket, an idle ticket closed).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    posted_at: Mapped[float] = mapped_column(Float, default=now)
    text: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_type: Mapped[str | None] = mapped_column(String(255))
    attachment_size: Mapped[int] = mapped_column(Integer, default=0)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)

    author: Mapped["Person | None"] = relationship()


class SignupRequest(Base):
    """Someone asking for an account: the person to create (login, email, names, the
    password's hash) and where the request stands: ``unconfirmed`` (the emailed key not used
    yet), ``pending`` (waiting for an admin), ``accepted`` or ``rejected``."""

    __tablename__ = "signup_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    login: Mapped[str] = mapped_column(String(255), index=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    organisation: Mapped[str] = mapped_column(String(255), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the key mailed to the address: the key itself is never stored.
    key_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    requested_from: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    confirmed_at: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[float | None] = mapped_column(Float)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)


class OutgoingMail(Base):
    """A mail the master has to send (a sign-up's key, a welcome...), written in the transaction
    that decided it; the gateway's mailer sends it and records each attempt."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    sent_at: Mapped[float | None] = mapped_column(Float, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
