"""The slapgate version, read from the installed distribution."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    VERSION = _version("slapgate")
except PackageNotFoundError:  # running from a source tree that was not installed
    VERSION = "0.0.0+source"
