"""The registry of slap_core operations: each is defined once, with who may call it.

An operation is a function ``f(session, principal, **arguments)`` decorated with :func:`operation`.
The registry is what adaptors expose, what ``docs/operations.md`` lists and what the authorization
matrix tests iterate over.
"""

from dataclasses import dataclass

REGISTRY = {}


@dataclass(frozen=True)
class Operation:
    """One slap_core operation: its name, function, whether it writes, and who may call it."""

    name: str
    function: object
    writes: bool
    callers: str
    summary: str


def operation(name, *, writes, callers):
    """Register the decorated function as operation ``name`` (e.g. ``instance.request``)."""

    def register(function):
        if name in REGISTRY:
            raise ValueError("operation %s defined twice" % name)
        summary = (function.__doc__ or "").strip().splitlines()[0]
        REGISTRY[name] = Operation(name, function, writes, callers, summary)
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
