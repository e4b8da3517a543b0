"""Per-computer revisions: ``computer.revision`` moves with what the computer's poll shows.

Every flush of a write transaction notes the rows it changed; before the commit, in the same
transaction, the revision of each computer whose poll answer (``computer.information``) may show
them is bumped: the computer itself, its partitions and their addresses, its supplies, the instances on its
partitions, the shared instances hosted there, and every instance of a tree whose root or tree row
changed (a root's state is imposed on its whole tree, wherever its instances run). The poll cache
(:mod:`slap_core.poll_cache`) and the node's watch rely on it: a revision that did not move means
an unchanged answer. Erring on the side of bumping costs a recomputation, never a stale answer.

Writes that bypass the unit of work (Core ``insert()``/``update()``) must either be followed by a
change of an ORM object of the same computer, or name the computers they changed with
:func:`note_computers`, as the request path's Core creation and allocation does.
"""

from itertools import chain

from sqlalchemy import event, inspect, or_, select, update

from slap_core.models import (
    Computer,
    InstanceTree,
    Partition,
    PartitionAddress,
    SoftwareInstance,
    Supply,
)


def _values(state, attribute):
    """The current and the previous (flushed away) values of ``attribute``, without loading."""
    values = set()
    if attribute in state.dict:
        values.add(state.dict[attribute])
    history = state.attrs[attribute].history
    values.update(history.deleted or ())
    values.discard(None)
    return values


def _identity(state):
    return state.identity[0] if state.identity else None


class _Pending:
    """What a transaction's flushes changed, resolved to computers once, before its commit."""

    def __init__(self):
        self.computers, self.partitions, self.instances, self.trees = set(), set(), set(), set()
        self.tree_rows = set()

    def collect(self, objects):
        """Note the ids ``objects`` (ORM instances being flushed) touch; no SQL."""
        for obj in objects:
            state = inspect(obj)
            if isinstance(obj, Computer):
                self.computers.add(_identity(state) or state.dict.get("id"))
            elif isinstance(obj, (Partition, Supply)):
                self.computers |= _values(state, "computer_id")
                if isinstance(obj, Partition):
                    self.partitions.add(_identity(state))
            elif isinstance(obj, PartitionAddress):
                self.partitions |= _values(state, "partition_id")
            elif isinstance(obj, SoftwareInstance):
                self.instances.add(_identity(state) or state.dict.get("id"))
                self.instances |= _values(state, "host_instance_id")
                self.trees |= _values(state, "tree_id")
            elif isinstance(obj, InstanceTree):
                self.trees.add(_identity(state) or state.dict.get("id"))
                self.tree_rows.add(_identity(state))
        return self

    def resolve(self, session):
        """Ids of the computers whose poll may show these changes."""
        computers, partitions, instances, trees = (
            self.computers - {None}, self.partitions - {None}, self.instances - {None},
            self.trees - {None})
        if not (partitions or instances or trees):
            return computers
        execute = session.connection().execute
        # Only trees whose root changed impose something on instances elsewhere; an instance's
        # own change stays on its own partition (and its host's), which ``instances`` covers.
        if trees:
            roots = set(execute(select(InstanceTree.id).where(
                InstanceTree.id.in_(trees),
                or_(InstanceTree.root_instance_id.in_(instances or {-1}),
                    InstanceTree.id.in_(self.tree_rows - {None})))).scalars())
        else:
            roots = set()
        conditions = []
        if partitions:
            conditions.append(Partition.id.in_(partitions))
        if instances:
            conditions.append(Partition.instance_id.in_(instances))
        if roots:
            conditions.append(Partition.instance_id.in_(
                select(SoftwareInstance.id).where(SoftwareInstance.tree_id.in_(roots))))
        if not conditions:
            return computers
        return computers | set(execute(select(Partition.computer_id).where(or_(*conditions))
                                       .distinct()).scalars())


def bump(session, computer_ids):
    """Move the revision of each computer of ``computer_ids`` (in the current transaction)."""
    if computer_ids:
        session.connection().execute(
            update(Computer).where(Computer.id.in_(sorted(computer_ids)))
            .values(revision=Computer.revision + 1)
            .execution_options(synchronize_session=False))


_PENDING = "slapgate_revision_changes"


def _pending(session):
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Pending()
    return pending


def note_computers(session, computer_ids):
    """Bump these computers' revisions at the commit: for changes written with Core statements."""
    _pending(session).computers.update(computer_ids)


def _after_flush(session, flush_context):
    objects = [obj for obj in chain(session.new, session.dirty, session.deleted)
               if isinstance(obj, (Computer, Partition, PartitionAddress, Supply,
                                   SoftwareInstance, InstanceTree))]
    if objects:
        _pending(session).collect(objects)


def _before_commit(session):
    # The flushes of the transaction only noted their changes; the queries that find the
    # computers, and the bump, run once here (a request flushes four times: make bench).
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        bump(session, pending.resolve(session))


def _after_rollback(session):
    session.info.pop(_PENDING, None)


def track(session_class):
    """Bump revisions, once per transaction, for what every flush of ``session_class`` changed."""
    for name, listener in (("after_flush", _after_flush), ("before_commit", _before_commit),
                           ("after_rollback", _after_rollback)):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)
