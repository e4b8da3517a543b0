"""The registry of slap_core operations: each is defined once, with who may call it.

An operation is a function ``f(session, principal, **arguments)`` decorated with :func:`operation`.
The registry is what adaptors expose, what ``docs/operations.md`` lists and what the authorization
matrix tests iterate over.
"""

from dataclasses import dataclass

REGISTRY = {}


@dataclass(frozen=True)
class Operation:
    """One slap_core operation: its name, function, whether it writes, who may call it, and
    whether it is a computer's poll of itself (held to :class:`slap_core.poll_limit.PollLimit`)."""

    name: str
    function: object
    writes: bool
    callers: str
    summary: str
    polled: bool = False


def operation(name, *, writes, callers, polled=False):
    """Register the decorated function as operation ``name`` (e.g. ``instance.request``);
    ``polled``: what a node asks again and again, whose rate the master limits."""

    def register(function):
        if name in REGISTRY:
            raise ValueError("operation %s defined twice" % name)
        summary = (function.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = Operation(name, function, writes, callers, summary, polled)
        return function

    return register


def load_all():
    """Import every module that defines operations, so that REGISTRY is complete."""
    from slap_core import (  # noqa: F401  (imported for their registrations)
        catalogue,
        certificates,
        computers,
        instance_reports,
        instances,
        people,
        supplies,
        tokens,
        usage,
    )

    return REGISTRY
