"""Operations on computers (nodes): registration, settings, format, the poll, bang and status."""

from sqlalchemy import bindparam, func, select

from slap_core import errors
from slap_core.access import (
    check_computer_agent,
    check_computer_manage,
    check_computer_read,
    deployed_partition,
    get_computer,
    person_for,
    person_id,
    require_user,
)
from slap_core.clock import next_timestamp, now
from slap_core.declarations import INTEGER, STRUCTURE
from slap_core.models import (
    Computer,
    Partition,
    PartitionAddress,
    SoftwareInstance,
    SoftwareRelease,
    Supply,
)
from slap_core.operations import operation
from slap_core.poll_cache import cache_for
from slap_core.partition_views import partition_views
from slap_core.principals import ComputerAgent, PartitionAgent, User
from slap_core.sla import check_attributes, check_scope
from slap_core.views import (
    ComputerInformation,
    ComputerRevision,
    ComputerView,
    PartitionView,
    SoftwareView,
)

MAX_PARTITIONS = 10000


def computer_view(session, computer):
    """The ComputerView of a Computer row (with its partition counts)."""
    total, free = session.execute(
        select(
            func.count(Partition.id),
            func.count(Partition.id).filter(Partition.slap_state == "free"),
        ).where(Partition.computer_id == computer.id)
    ).one()
    return ComputerView(
        reference=computer.reference,
        title=computer.title,
        owner=computer.owner.login if computer.owner else None,
        allocation_scope=computer.allocation_scope,
        network_guid=computer.network_guid,
        project_guid=computer.project_guid,
        attributes=dict(computer.attributes or {}),
        address=computer.address,
        netmask=computer.netmask,
        partition_count=total,
        free_partition_count=free,
        status_text=computer.status_text,
        status_at=computer.status_at,
        created_at=computer.created_at,
    )


def _check_reference(reference):
    if not isinstance(reference, str) or not reference or len(reference) > 255:
        raise errors.Invalid("a computer reference is 1 to 255 characters")
    if any(ch.isspace() or ord(ch) < 32 or ch == "/" for ch in reference):
        raise errors.Invalid("a computer reference contains no spaces, slashes or control characters")
    return reference


def set_status(computer, text):
    """Record the computer's latest news (``#access ...`` / ``#error ...``)."""
    computer.status_text = text
    computer.status_at = now()


@operation("computer.create", writes=True, callers="any user (becomes its owner)",
           returns=ComputerView, raises=(errors.Invalid, errors.Conflict))
def create_computer(session, principal, *, reference=None, title="", allocation_scope="open",
                    network_guid=None, project_guid=None, attributes=None):
    """Register a new computer owned by the caller; a reference ``COMP-<n>`` is made if none given."""
    user = require_user(principal)
    owner = person_for(session, user)
    if reference is not None:
        _check_reference(reference)
        if session.scalar(select(Computer.id).where(Computer.reference == reference)):
            raise errors.Conflict("computer %r exists" % (reference,))
    computer = Computer(
        reference=reference or "",
        title=title or reference or "",
        owner=owner,
        allocation_scope=check_scope(allocation_scope),
        network_guid=network_guid or None,
        project_guid=project_guid or None,
        attributes=check_attributes(attributes or {}),
    )
    session.add(computer)
    session.flush()
    if not reference:
        computer.reference = "COMP-%d" % computer.id
        computer.title = computer.title or computer.reference
        session.flush()
    return computer_view(session, computer)


@operation("computer.update", writes=True, callers="admin, operator, the computer's owner",
           returns=ComputerView, raises=(errors.NotFound, errors.Invalid))
def update_computer(session, principal, *, reference, title=None, allocation_scope=None,
                    network_guid=None, project_guid=None, attributes=None):
    """Change a computer's title, allocation scope, network, project or category attributes."""
    computer = get_computer(session, reference)
    check_computer_manage(session, principal, computer)
    if title is not None:
        computer.title = title
    if allocation_scope is not None:
        computer.allocation_scope = check_scope(allocation_scope)
    if network_guid is not None:
        computer.network_guid = network_guid or None
    if project_guid is not None:
        computer.project_guid = project_guid or None
    if attributes is not None:
        computer.attributes = check_attributes(attributes)
    session.flush()
    return computer_view(session, computer)


@operation("computer.get", writes=False, callers="the computer, its owner, admin, operator",
           returns=ComputerView, raises=(errors.NotFound,))
def get_computer_view(session, principal, *, reference):
    """Read one computer."""
    computer = get_computer(session, reference)
    check_computer_read(session, principal, computer)
    return computer_view(session, computer)


@operation("computer.list", writes=False, callers="users (their own), admin and operator (all)",
           returns=[ComputerView])
def list_computers(session, principal):
    """List the computers the caller may see."""
    user = require_user(principal)
    query = select(Computer).order_by(Computer.reference)
    if not user.manages_fleet:
        query = query.where(Computer.owner_id == person_id(session, user))
    return [computer_view(session, c) for c in session.scalars(query)]


def _partition_addresses(partition_dict, reference):
    tap = partition_dict.get("tap") or {}
    interface = (tap.get("name") if isinstance(tap, dict) else None) or reference
    addresses = []
    for entry in partition_dict.get("address_list") or []:
        if not isinstance(entry, dict) or not entry.get("addr"):
            raise errors.Invalid("partition %r: every address needs an 'addr'" % (reference,))
        addresses.append(
            PartitionAddress(
                network_interface=str(entry.get("network_interface") or interface),
                address=str(entry["addr"]),
                netmask=str(entry.get("netmask") or ""),
            )
        )
    if isinstance(tap, dict) and tap.get("ipv4_addr"):
        addresses.append(
            PartitionAddress(
                network_interface=interface,
                address=str(tap["ipv4_addr"]),
                netmask=str(tap.get("ipv4_netmask") or ""),
                gateway=str(tap.get("ipv4_gateway") or ""),
                network=str(tap.get("ipv4_network") or ""),
            )
        )
    return addresses


def _capabilities(partition_dict):
    value = partition_dict.get("capability_list") or []
    if isinstance(value, str):
        value = value.split()
    return "\n".join(str(v) for v in value if str(v).strip())


@operation("computer.format", writes=True,
           callers="the computer itself, admin (an admin's call creates a missing computer)",
           returns=ComputerView, raises=(errors.NotFound,
                                         errors.Invalid,
                                         (errors.Conflict, "busy partition removed")))
def format_computer(session, principal, *, reference, configuration):
    """Record what ``node format`` found: addresses and partitions (section 5.7 of the spec).

    Partitions missing from the new list are removed when free; removing a busy one is refused
    (Conflict) and nothing changes. Busy partitions that stay keep their instance.
    """
    if not isinstance(configuration, dict):
        raise errors.Invalid("a computer configuration is a mapping")
    partition_list = configuration.get("partition_list") or []
    if not isinstance(partition_list, list) or len(partition_list) > MAX_PARTITIONS:
        raise errors.Invalid("partition_list is a list of at most %d partitions" % MAX_PARTITIONS)
    computer = session.scalar(select(Computer).where(Computer.reference == reference))
    if computer is None:
        if not (isinstance(principal, User) and principal.is_admin):
            raise errors.NotFound("no computer %r" % (reference,))
        computer = Computer(reference=_check_reference(reference), title=reference,
                            owner=person_for(session, principal))
        session.add(computer)
        session.flush()
    check_computer_agent(principal, computer)

    wanted = {}
    for entry in partition_list:
        if not isinstance(entry, dict) or not isinstance(entry.get("reference"), str) \
                or not entry["reference"]:
            raise errors.Invalid("every partition needs a 'reference'")
        if entry["reference"] in wanted:
            raise errors.Invalid("partition %r is listed twice" % (entry["reference"],))
        wanted[entry["reference"]] = entry

    existing = {p.reference: p for p in computer.partitions}
    for name, partition in existing.items():
        if name not in wanted:
            if partition.instance_id is not None:
                raise errors.Conflict(
                    "partition %r is busy and cannot be removed by a format" % (name,)
                )
            session.delete(partition)
    for name, entry in wanted.items():
        partition = existing.get(name)
        if partition is None:
            partition = Partition(computer=computer, reference=name)
            session.add(partition)
        partition.addresses = _partition_addresses(entry, name)
        partition.capabilities = _capabilities(entry)
        partition.resource = {
            k: v for k, v in entry.items() if k not in ("address_list", "reference")
        }
    computer.address = configuration.get("address") or None
    computer.netmask = configuration.get("netmask") or None
    computer.configuration = {
        k: v for k, v in configuration.items() if k not in ("partition_list", "reference")
    }
    set_status(computer, "#access computer formatted with %d partitions" % len(wanted))
    session.flush()
    return computer_view(session, computer)


# Built once: a cached poll is this one query, and building the statement was a fifth of it.
REVISION_OF = select(Computer.id, Computer.reference, Computer.revision).where(
    Computer.reference == bindparam("reference"))


@operation("computer.information", writes=False, callers="the computer itself, admin",
           polled=True, returns=ComputerInformation, raises=(errors.NotFound,))
def computer_information(session, principal, *, reference):
    """The node's poll: releases to install or remove and every partition as the node must deploy it."""
    if not reference:
        raise errors.Invalid("a computer reference is required")
    execute = session.connection().execute  # column rows, no ORM result layer
    # The revision is read before anything else (see slap_core.poll_cache).
    computer = execute(REVISION_OF, {"reference": reference}).first()
    if computer is None:
        raise errors.NotFound("no computer %r" % (reference,))
    check_computer_agent(principal, computer)
    cache = cache_for(session)
    cached = cache.get(computer.id, computer.revision)
    if cached is not None:
        return cached
    supplies = execute(
        select(Supply.desired_state, Supply.release_id)
        .where(Supply.computer_id == computer.id)
        .order_by(Supply.id)
    ).all()
    urls = dict(
        execute(
            select(SoftwareRelease.id, SoftwareRelease.url).where(
                SoftwareRelease.id.in_([release_id for _, release_id in supplies])
            )
        ).all()
    ) if supplies else {}
    partitions = execute(
        select(Partition.id, Partition.reference, Partition.instance_id)
        .where(Partition.computer_id == computer.id)
        .order_by(Partition.id)
    )
    information = ComputerInformation(
        reference=computer.reference,
        software=tuple(SoftwareView(urls[rid], state) for state, rid in supplies),
        partitions=tuple(partition_views(session, computer, partitions)),
    )
    cache.put(computer.id, computer.revision, information)
    return information


MAX_REVISIONS = 10000


@operation("computer.revisions", writes=False,
           callers="a computer (its own), admin (any; the master's watch of waiting nodes)",
           returns=[ComputerRevision], raises=(errors.NotFound, errors.Invalid))
def computer_revisions(session, principal, *, references):
    """The revision of each named computer, in the order given (unknown ones are NotFound).

    A revision moves with every change that computer's poll (``computer.information``) shows, so
    a node may poll again only when it moved.
    """
    if isinstance(references, str) or not isinstance(references, (list, tuple)) \
            or not all(isinstance(r, str) for r in references):
        raise errors.Invalid("references is a list of computer references")
    if len(references) > MAX_REVISIONS:
        raise errors.Invalid("at most %d references at once" % MAX_REVISIONS)
    wanted = list(dict.fromkeys(references))
    if isinstance(principal, ComputerAgent):
        if wanted != [principal.computer]:
            raise errors.Forbidden("a computer reads its own revision only")
    elif not (isinstance(principal, User) and principal.is_admin):
        if isinstance(principal, User):
            raise errors.Forbidden("only a computer or an admin reads revisions")
        raise errors.Unauthenticated("node calls need the computer's credentials")
    found = dict(session.connection().execute(
        select(Computer.reference, Computer.revision).where(Computer.reference.in_(wanted))
    ).all())
    missing = [r for r in wanted if r not in found]
    if missing:
        raise errors.NotFound("no computer %r" % (missing[0],))
    return [ComputerRevision(reference, found[reference]) for reference in wanted]


@operation("computer.partition", writes=False, callers="the computer, the partition itself",
           returns=PartitionView, raises=(errors.NotFound,))
def partition_view(session, principal, *, reference, partition):
    """One partition as its node sees it (SLAP's registerComputerPartition)."""
    row = deployed_partition(session, principal, reference, partition)
    return partition_views(session, row.computer, [row])[0]


@operation("computer.bang", writes=True, callers="the computer itself, admin",
           returns=INTEGER, raises=(errors.NotFound,))
def bang_computer(session, principal, *, reference, message=""):
    """Ask every instance of the computer to be processed again (bumps their timestamps)."""
    computer = get_computer(session, reference)
    check_computer_agent(principal, computer)
    instances = session.scalars(
        select(SoftwareInstance)
        .join(Partition, Partition.instance_id == SoftwareInstance.id)
        .where(Partition.computer_id == computer.id)
    )
    count = 0
    for instance in instances:
        instance.timestamp = next_timestamp(instance.timestamp)
        count += 1
    set_status(computer, "#access bang: %s" % (message or "no message"))
    return count


@operation("computer.status", writes=False,
           callers="the computer, its owner, admin, operator",
           returns=STRUCTURE, raises=(errors.NotFound,))
def computer_status(session, principal, *, reference):
    """The computer's latest news as ``{text, at}`` (``#error no data found`` when none)."""
    computer = get_computer(session, reference)
    if isinstance(principal, PartitionAgent):
        raise errors.Forbidden("a partition may not read its computer's status")
    check_computer_read(session, principal, computer)
    if computer.status_text is None:
        return {"text": "#error no data found for %s" % computer.reference, "at": None}
    return {"text": computer.status_text, "at": computer.status_at}
