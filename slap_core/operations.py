"""The registry of slap_core operations: each is defined once, with who may call it.

An operation is a function ``f(session, principal, **arguments)`` decorated with :func:`operation`.
The registry is what adaptors expose, what ``docs/operations.md`` lists and what the authorization
matrix tests iterate over. This module imports none of the operation modules (they import it):
:func:`slap_core.master.load_all` imports them all and answers the complete registry.
"""

import functools
import inspect
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

    def arguments(self):
        """(required, optional) argument names, as callers name them (keyword arguments)."""
        return _argument_names(self.function)

    def described_arguments(self):
        """The arguments in words: ``title, software_release; optional: state, sla``."""
        required, optional = self.arguments()
        text = ", ".join(required) or "no required argument"
        if optional:
            text += "; optional: " + ", ".join(optional)
        return text

    def argument_problem(self, given):
        """Why the argument names ``given`` do not fit this operation, or None."""
        required, optional = self.arguments()
        unknown = sorted(set(given) - set(required) - set(optional))
        missing = [name for name in required if name not in given]
        if not unknown and not missing:
            return None
        problems = []
        if missing:
            problems.append("missing argument%s %s" % (
                "s" if len(missing) > 1 else "", ", ".join(repr(n) for n in missing)))
        if unknown:
            problems.append("unknown argument%s %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(repr(n) for n in unknown)))
        return "%s (%s takes %s)" % ("; ".join(problems), self.name, self.described_arguments())


@functools.lru_cache(maxsize=None)
def _argument_names(function):
    # Read once per function: every call checks its arguments against them.
    required, optional = [], []
    for parameter in list(inspect.signature(function).parameters.values())[2:]:
        (required if parameter.default is inspect.Parameter.empty else optional).append(
            parameter.name)
    return tuple(required), tuple(optional)


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

