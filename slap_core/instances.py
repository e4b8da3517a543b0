"""Requesting instances and reading them: the requester's side of the model.

``instance.request`` is idempotent on (requester, title): the requester is the person for a root
instance and the instance tree for an instance requested by a partition. Asking again returns the
same instance, updated with the new release, software type, parameters or state (``None`` keeps
what is there).
"""

from sqlalchemy import bindparam, exists, or_, select, true, update

from slap_core import errors, release_schemas
from slap_core.access import (
    agent_instance,
    check_instance_read,
    get_instance,
    person_for,
    person_id,
    require_admin,
    require_user,
)
from slap_core.catalogue import check_url, ensure_release
from slap_core.declarations import INTEGER
from slap_core.instance_creation import insert_instance
from slap_core.instance_views import build_view, instance_view, partition_addresses, root_state
from slap_core.lifecycle import bump, bump_tree, live_tree_instances, request_destroy
from slap_core.models import InstanceTree, Partition, SoftwareInstance, SoftwareRelease
from slap_core.operations import operation
from slap_core.placement import place, place_regular
from slap_core.partition_views import effective_state
from slap_core.principals import PartitionAgent, User
from slap_core.subscriptions import open_subscription
from slap_core.views import InstanceView, TreeView

STATES = ("started", "stopped", "destroyed")
MAX_TITLE = 255
MAX_PARAMETERS = 1000
MAX_VALUE = 1024 * 1024


def check_title(title):
    """Validate an instance title."""
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise errors.Invalid("an instance title is 1 to %d characters" % MAX_TITLE)
    if any(ord(ch) < 32 for ch in title):
        raise errors.Invalid("an instance title contains no control characters")
    return title


def check_mapping(value, what):
    """Validate a flat parameter mapping: string keys, scalar values (kept as strings or None)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.Invalid("%s is a mapping of names to values" % what)
    if len(value) > MAX_PARAMETERS:
        raise errors.Invalid("%s has more than %d entries" % (what, MAX_PARAMETERS))
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise errors.Invalid("%s names are non-empty strings" % what)
        if item is None or isinstance(item, str):
            result[key] = item
        elif isinstance(item, (bool, int, float)):
            result[key] = str(item)
        else:
            raise errors.Invalid("%s values are strings, not %s (%r)"
                                 % (what, type(item).__name__, key))
        if result[key] is not None and len(result[key]) > MAX_VALUE:
            raise errors.Invalid("%s value %r is longer than %d characters" % (what, key, MAX_VALUE))
    return result


def _requester(session, principal):
    """(scope, person, tree, requesting instance) for a user or a partition."""
    if isinstance(principal, PartitionAgent):
        own = agent_instance(session, principal)
        return "T%d" % own.tree_id, own.tree.owner, own.tree, own
    person = person_for(session, require_user(principal))
    return "P%d" % person.id, person, None, None


_LIVE = select(SoftwareInstance).where(  # built once: every request runs it
    SoftwareInstance.request_scope == bindparam("scope"),
    SoftwareInstance.title == bindparam("title"))


def _live(session, scope, title):
    return session.scalar(_LIVE, {"scope": scope, "title": title})


def _refuse_loop(instance, requester):
    """Refuse making ``requester`` the requester of ``instance`` when it descends from it."""
    seen, current = set(), requester
    while current is not None and current.id not in seen:
        if current.id == instance.id:
            raise errors.Conflict("instance %r cannot be requested by itself or by an instance "
                                  "it requested" % (instance.title,))
        seen.add(current.id)
        current = current.requester


def _update(session, instance, requester, release, software_type, parameters, sla, state):
    """Apply a repeated request; returns True when the node must process the instance again."""
    changed = False
    if requester is not None and instance.requester_instance_id != requester.id:
        _refuse_loop(instance, requester)
        instance.requester = requester
    if instance.release_id != release.id:
        instance.release = release
        changed = True
    if software_type and instance.software_type != software_type:
        instance.software_type = software_type
        changed = True
    if parameters is not None and instance.parameters != parameters:
        instance.parameters = parameters
        changed = True
    if sla is not None and instance.sla != sla:
        instance.sla = sla
    if state is not None and instance.requested_state != state:
        instance.requested_state = state
        changed = True
        if instance.tree.root_instance_id == instance.id:
            bump_tree(session, instance.tree_id)
    if changed:
        bump(instance)
    return changed


def _answer(title, view, reason):
    """The view, or NotReady carrying it (the changes kept) while the instance waits."""
    if reason is not None:
        raise errors.NotReady("instance %r is not allocated yet: %s" % (title, reason),
                              keep_changes=True, result=view)
    return view


def _answer_new(session, new, title, person, tree, requester, release, software_type,
                parameters, state):
    """Place a new regular instance and answer from the values inserted (no ORM row loaded)."""
    placement = place_regular(session, new)
    partition = placement.partition
    view = build_view(
        reference=new.reference, title=title,
        tree=tree.title if tree is not None else title, owner=person.login,
        software_release=release.url, software_type=software_type or "default",
        parameters=parameters, sla=new.sla, requested_state=state or "started",
        root_requested_state=root_state(requester) if requester is not None else (
            state or "started"),
        shared=False, computer=partition[2] if partition else None,
        partition=partition[1] if partition else None,
        addresses=partition_addresses(session, partition[0] if partition else None),
        host=None, requester=requester.reference if requester is not None else None,
        connection={}, timestamp=placement.timestamp, status_text=placement.status_text,
        status_at=placement.status_at, archived=False, created_at=new.created_at, created=True)
    return _answer(title, view, placement.reason)


def _check_schema(session, url, software_type, shared, parameters):
    """Invalid when the release has a parameter schema its software type's request does not
    satisfy (slap_core.release_schemas); releases without one take any parameters."""
    schema = session.scalar(select(SoftwareRelease.parameter_schema)
                            .where(SoftwareRelease.url == url))
    if schema is not None:
        release_schemas.check_parameters(schema, software_type, shared, parameters)


@operation("instance.request", writes=True,
           callers="users (root instances), partitions (instances in their own tree)",
           returns=InstanceView,
           raises=(errors.Invalid,
                   (errors.NotReady, "recorded, waiting for a partition/host"),
                   errors.Conflict,
                   (errors.NotFound, "destroying an unknown title")))
def request_instance(session, principal, *, title, software_release, software_type=None,
                     parameters=None, sla=None, state=None, shared=False):
    """Request (or re-request) an instance; NotReady while it waits for a partition or a host.

    ``state`` is ``started``, ``stopped``, ``destroyed`` or None (keep; ``started`` when new).
    Parameters and SLA replace the stored ones; None keeps them. The answer's ``created`` says
    whether this call created the instance.
    """
    title = check_title(title)
    check_url(software_release)
    parameters = check_mapping(parameters, "parameters")
    sla = check_mapping(sla, "sla")
    if state not in (None,) + STATES:
        raise errors.Invalid("a requested state is one of %s" % ", ".join(STATES))
    if software_type is not None and not isinstance(software_type, str):
        raise errors.Invalid("a software type is a string")
    scope, person, tree, requester = _requester(session, principal)
    instance = _live(session, scope, title)
    if parameters is not None:
        _check_schema(session, software_release,
                      software_type or (instance.software_type if instance else None), shared,
                      parameters)
    if instance is not None and instance.requested_state == "destroyed" and state not in (
        None, "destroyed"
    ):
        raise errors.Conflict(
            "instance %r is being destroyed; request it again once it is gone" % (title,)
        )
    if instance is None:
        if state == "destroyed":
            raise errors.NotFound("no instance %r to destroy" % (title,))
        if requester is not None and effective_state(
            requester.requested_state, root_state(requester)
        ) == "destroyed":
            raise errors.Conflict("an instance being destroyed cannot request new instances")
        release = ensure_release(session, software_release)
        new = insert_instance(session, scope=scope, person=person, tree=tree,
                              requester=requester, title=title, release=release,
                              software_type=software_type, parameters=parameters, sla=sla,
                              state=state, shared=shared)
        if tree is None:
            open_subscription(session, tree_id=new.tree_id, owner_id=person.id, release=release,
                              shared=shared, start=new.created_at)
        if not shared:
            return _answer_new(session, new, title, person, tree, requester, release,
                               software_type, parameters, state)
        instance = session.get(SoftwareInstance, new.id)
        created = True
    else:
        created = False
        if instance.shared != bool(shared):
            raise errors.Conflict(
                "%r is a %s instance" % (title, "shared" if instance.shared else "regular")
            )
        if state == "destroyed":
            request_destroy(session, instance)
            return instance_view(session, instance)
        _update(session, instance, requester, ensure_release(session, software_release),
                software_type, parameters, sla, state)
    reason = place(session, instance, software_type)
    session.flush()
    return _answer(title, instance_view(session, instance, created), reason)


@operation("instance.change", writes=True, callers="the tree's owner (root instances)",
           returns=InstanceView,
           raises=(errors.NotFound,
                   (errors.Forbidden, "not the owner"),
                   (errors.Conflict, "requested by an instance"),
                   errors.NotReady,
                   errors.Invalid))
def change_instance(session, principal, *, reference, software_release=None, software_type=None,
                    parameters=None, sla=None, state=None):
    """Request a root instance again by reference, changing what is given (None keeps it).

    Only its owner may, and only a root: an instance requested by another one changes through its
    requester (Conflict). NotReady while it waits for a partition or a host, as instance.request.
    """
    instance = get_instance(session, reference, archived=True)
    check_instance_read(session, principal, instance)
    if instance.requester is not None:
        raise errors.Conflict("%s was requested by %s: only its requester changes it"
                              % (instance.reference, instance.requester.reference))
    if not (isinstance(principal, User) and principal.login == instance.tree.owner.login):
        raise errors.Forbidden("only the owner of %s may request it again" % (instance.reference,))
    if instance.archived:
        raise errors.NotFound("instance %r was destroyed" % (instance.reference,))
    return request_instance(session, principal, title=instance.title,
                            software_release=software_release or instance.release.url,
                            software_type=software_type or instance.software_type,
                            parameters=parameters, sla=sla, state=state, shared=instance.shared)


@operation("instance.allocate_pending", writes=True,
           callers="admin (the master's own allocation loop)", returns=INTEGER)
def allocate_pending(session, principal, *, limit=100):
    """Try again to place instances waiting for a partition or a host; returns how many were placed.

    The master runs this periodically, as the SlapOS master's allocation alarm, so a waiting
    instance is placed once a partition frees up without anyone asking again. A shared instance
    whose software type is ``default`` accepts a host of any type here.
    """
    require_admin(principal)
    # A flag left set on an instance that has its place, or was archived, is cleared first: the
    # pending rows stay the few waiting ones.
    session.execute(
        update(SoftwareInstance)
        .where(SoftwareInstance.pending == true(),
               or_(SoftwareInstance.archived.is_(True),
                   SoftwareInstance.host_instance_id.is_not(None),
                   exists().where(Partition.instance_id == SoftwareInstance.id)))
        .values(pending=False)
        .execution_options(synchronize_session=False))
    regular = select(SoftwareInstance).outerjoin(
        Partition, Partition.instance_id == SoftwareInstance.id
    ).where(
        SoftwareInstance.shared.is_(False),
        Partition.id.is_(None),
    )
    shared = select(SoftwareInstance).where(
        SoftwareInstance.shared.is_(True),
        SoftwareInstance.host_instance_id.is_(None),
    )
    placed = 0
    for query in (regular, shared):
        query = query.where(
            SoftwareInstance.pending == true(),
            SoftwareInstance.archived.is_(False),
            SoftwareInstance.requested_state != "destroyed",
        ).order_by(SoftwareInstance.id).limit(max(1, min(int(limit), 1000)))
        for instance in session.scalars(query).all():
            wanted_type = None if instance.software_type == "default" else instance.software_type
            if place(session, instance, wanted_type) is None:
                placed += 1
    return placed


@operation("instance.get", writes=False,
           callers="the tree's owner, admin, the node and partition it runs on, its requester",
           returns=InstanceView, raises=(errors.NotFound,))
def get_instance_view(session, principal, *, reference):
    """Read one instance by reference (its instance_guid)."""
    instance = get_instance(session, reference, archived=True)
    check_instance_read(session, principal, instance)
    return instance_view(session, instance)


@operation("instance.list", writes=False, callers="users (their own), admin (all)",
           returns=[InstanceView])
def list_instances(session, principal, *, tree=None, include_archived=False):
    """List the caller's instances, optionally of one tree (by root title)."""
    user = require_user(principal)
    query = select(SoftwareInstance).join(InstanceTree,
                                         SoftwareInstance.tree_id == InstanceTree.id)
    if not user.is_admin:
        query = query.where(InstanceTree.owner_id == person_id(session, user))
    if tree is not None:
        query = query.where(InstanceTree.title == tree)
    if not include_archived:
        query = query.where(SoftwareInstance.archived.is_(False))
    return [instance_view(session, i) for i in session.scalars(query.order_by(SoftwareInstance.id))]


def _tree_view(session, tree):
    instances = live_tree_instances(session, tree.id)
    return TreeView(
        title=tree.title,
        owner=tree.owner.login,
        state=tree.root.requested_state if tree.root is not None else "destroyed",
        root=tree.root.reference if tree.root is not None else None,
        instances=tuple(i.reference for i in instances),
        archived=tree.archived,
    )


def _trees(session, principal, include_archived):
    user = require_user(principal)
    query = select(InstanceTree).order_by(InstanceTree.id)
    if not user.is_admin:
        query = query.where(InstanceTree.owner_id == person_id(session, user))
    if not include_archived:
        query = query.where(InstanceTree.archived.is_(False))
    return query


@operation("tree.list", writes=False, callers="users (their own), admin (all)", returns=[TreeView])
def list_trees(session, principal, *, include_archived=False):
    """List the caller's instance trees with their instances."""
    return [_tree_view(session, tree)
            for tree in session.scalars(_trees(session, principal, include_archived))]


@operation("tree.get", writes=False, callers="users (their own), admin (all)",
           returns=TreeView, raises=(errors.NotFound,))
def get_tree(session, principal, *, title):
    """Read one of the caller's live instance trees by title (for an admin: the oldest one)."""
    tree = session.scalars(_trees(session, principal, False).where(
        InstanceTree.title == title, InstanceTree.root_instance_id.is_not(None)).limit(1)).first()
    if tree is None:
        raise errors.NotFound("no instance tree %r" % (title,))
    return _tree_view(session, tree)
