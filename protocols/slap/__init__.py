"""The SLAP adaptor: upstream SlapOS tools (slap library, ``slapos`` CLI, slapgrid) talk to the
master through it unchanged. Mounted at ``/slap/``."""

from protocols.slap.callers import AuthenticatedCallers, LoopbackCallers, RefusingCallers
from protocols.slap.resource import SlapResource

__all__ = ["AuthenticatedCallers", "LoopbackCallers", "RefusingCallers", "SlapResource"]
