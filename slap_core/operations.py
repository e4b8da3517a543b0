"""The registry of slap_core operations: each is defined and declared once, with who may call it.

An operation is a function ``f(session, principal, **arguments)`` decorated with :func:`operation`,
which declares it (:mod:`slap_core.declarations`: its arguments' kinds and meanings, its result,
its errors) and fails at import when a part of the declaration is missing. The registry is what
adaptors expose, what ``docs/operations.md`` lists and what the authorization matrix tests
iterate over. This module imports none of the operation modules (they import it):
:func:`slap_core.master.load_all` imports them all and answers the complete registry.
"""

import functools
import inspect
from dataclasses import dataclass

from slap_core import errors
from slap_core.declarations import declared_argument, result_of

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
    declared: tuple = ()
    result: object = None
    errors: tuple = ()  # (error class, when it is raised or None)

    def arguments(self):
        """(required, optional) argument names, as callers name them (keyword arguments)."""
        return _argument_names(self.function)

    def declared_argument(self, name):
        """The :class:`slap_core.declarations.Argument` called ``name``, or None."""
        return next((argument for argument in self.declared if argument.name == name), None)

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
        wrong = [argument for argument in self.declared if given.get(argument.name) is not None
                 and not argument.kind.accepts(given[argument.name])]
        if not unknown and not missing and not wrong:
            return None
        problems = ["argument %r is %s, not %s" % (argument.name, argument.kind.name,
                                                   _shown(given[argument.name]))
                    for argument in wrong]
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


def _shown(value):
    text = repr(value)
    return "%s (%s)" % (text if len(text) <= 40 else text[:37] + "...", type(value).__name__)


def operation(name, *, writes, callers, returns, raises=(), polled=False):
    """Register and declare the decorated function as operation ``name`` (``instance.request``).

    ``returns``: a view class of :mod:`slap_core.views`, a :class:`slap_core.declarations.Kind`,
    None (nothing) or ``[item]`` (a list of them); ``raises``: the slap_core errors it raises
    beyond Unauthenticated and Forbidden, each a class or (class, when); ``polled``: what a node
    asks again and again, whose rate the master limits. Each keyword argument is declared by the glossary
    (:data:`slap_core.declarations.GLOSSARY`): one missing there is an error at import.
    """

    def register(function):
        if name in REGISTRY:
            raise ValueError("operation %s defined twice" % name)
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        if not summary:
            raise ValueError("operation %s has no docstring" % name)
        required, optional = _argument_names(function)
        try:
            declared = tuple(declared_argument(name, argument, argument in required)
                             for argument in required + optional)
        except KeyError as missing:
            raise ValueError("operation %s: argument %s is not in slap_core.declarations."
                             "GLOSSARY" % (name, missing)) from None
        raised = tuple(item if isinstance(item, tuple) else (item, None) for item in raises)
        if not all(isinstance(error, type) and issubclass(error, errors.SlapError)
                   for error, _ in raised):
            raise ValueError("operation %s raises slap_core errors only" % name)
        REGISTRY[name] = Operation(name, function, writes, callers, summary, polled, declared,
                                   result_of(returns), raised)
        return function

    return register

