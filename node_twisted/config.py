"""The node's configuration, read from an upstream ``slapos.cfg`` (SLAP spec section 5.1 and 5.7).

``[slapos]`` carries the computer, the master and the two roots; ``[slapformat]`` what ``format``
lays out. Keys upstream has and this agent does not use (pid files, managers, network cache...)
are accepted and ignored, so an existing node's file works as it is. Keys of our own, with
upstream-style names, sit in the same ``[slapos]`` section: ``supervisord``,
``software_build_concurrency`` and ``cycle_interval``.
"""

import configparser
import dataclasses
import ipaddress
import os
import shutil
import sys


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a bad value."""


def _tool_path(name):
    """``name`` next to the running interpreter (this venv), else on PATH, else ``name``."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which(name) or name


@dataclasses.dataclass
class FormatConfig:
    """``[slapformat]``: how partitions are laid out and addressed."""

    computer_xml: str | None = None
    input_definition_file: str | None = None
    partition_amount: int = 0
    partition_base_name: str = "slappart"
    user_base_name: str = "slapuser"
    software_user: str = "slapsoft"
    interface_name: str = "lo"
    ipv6_interface: str = ""
    ipv4_local_network: str = "127.0.2.0/24"
    partition_has_ipv6_range: bool = False
    alter_user: bool = False
    alter_network: bool = False
    create_tap: bool = False
    create_tun: bool = False
    tap_gateway_interface: str = ""
    tap_ipv6: bool = False
    instance_storage_home: str = ""


@dataclasses.dataclass
class NodeConfig:
    """``[slapos]``: the computer, its master and where software and instances live."""

    computer_id: str
    master_url: str
    software_root: str
    instance_root: str
    key_file: str | None = None
    cert_file: str | None = None
    master_ca_file: str | None = None
    certificate_repository_path: str | None = None
    buildout: str = dataclasses.field(default_factory=lambda: _tool_path("buildout"))
    supervisord: str = dataclasses.field(default_factory=lambda: _tool_path("supervisord"))
    shared_part_list: str = ""
    build_time_part_list: str = ""
    instance_storage_home: str = ""
    ipv4_global_network: str = ""
    maximum_periodicity: int = 86400
    promise_timeout: int = 20
    promise_concurrency: int = 4
    progress_http_port: int | None = None
    partition_timeout: int | None = None
    software_build_concurrency: int = 2
    cycle_interval: int = 60
    forbid_supervisord_automatic_launch: bool = False
    format: FormatConfig = dataclasses.field(default_factory=FormatConfig)

    @property
    def progress_file(self):
        """Where the agent writes its progress for ``slapgate node status``."""
        return os.path.join(self.instance_root, ".slapgate-node-progress.json")

    @property
    def supervisord_socket(self):
        """The unix socket supervisord serves XML-RPC on (the legacy name wins when present)."""
        legacy = os.path.join(self.instance_root, "supervisord.socket")
        if os.path.exists(legacy):
            return legacy
        return os.path.join(self.instance_root, "sv.sock")


_BOOLEANS = {"true": True, "false": False}


def _boolean(section, key, value):
    # upstream slapformat accepts exactly these spellings (any case)
    try:
        return _BOOLEANS[value.strip().lower()]
    except KeyError:
        raise ConfigError("[%s] %s must be true or false, not %r" % (section, key, value)) from None


def _integer(section, key, value, minimum=None):
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError("[%s] %s must be an integer, not %r" % (section, key, value)) from None
    if minimum is not None and number < minimum:
        raise ConfigError("[%s] %s must be at least %d" % (section, key, minimum))
    return number


def _convert(section, cls, options):
    """Keyword arguments for ``cls`` from the section's options, typed as its fields say."""
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name == "format" or field.name not in options:
            continue
        value = options[field.name]
        kind = field.type if isinstance(field.type, str) else getattr(
            field.type, "__name__", str(field.type))
        if kind == "bool":
            kwargs[field.name] = _boolean(section, field.name, value)
        elif kind.startswith("int"):
            if kind != "int" and not value.strip():
                kwargs[field.name] = None
            else:
                kwargs[field.name] = _integer(section, field.name, value, minimum=0)
        elif kind.startswith("str |"):
            kwargs[field.name] = value.strip() or None
        else:
            kwargs[field.name] = value.strip() if "list" not in field.name else value
    return kwargs


def parse(text, source="<string>"):
    """The :class:`NodeConfig` that configuration ``text`` describes; :class:`ConfigError` if bad."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text, source)
    except configparser.Error as error:
        raise ConfigError("%s: %s" % (source, error)) from None
    if not parser.has_section("slapos"):
        raise ConfigError("%s has no [slapos] section" % source)
    options = dict(parser.items("slapos"))
    # upstream's "only-sr"-style keys use dashes; none of ours do
    for key in ("computer_id", "master_url", "software_root", "instance_root"):
        if not options.get(key, "").strip():
            raise ConfigError("[slapos] %s is required" % key)
    settings = _convert("slapos", NodeConfig, options)
    if bool(settings.get("key_file")) != bool(settings.get("cert_file")):
        raise ConfigError("[slapos] key_file and cert_file go together")
    if settings.get("master_url", "").startswith("https:") and not settings.get("key_file"):
        raise ConfigError("[slapos] an https master_url needs key_file and cert_file")
    if settings.get("master_ca_file") and not settings.get("master_url", "").startswith("https:"):
        raise ConfigError("[slapos] master_ca_file is for an https master_url")
    for key in ("software_build_concurrency", "promise_concurrency"):
        if settings.get(key) == 0:
            raise ConfigError("[slapos] %s must be at least 1" % key)
    for key in ("software_root", "instance_root", "key_file", "cert_file", "master_ca_file",
                "certificate_repository_path"):
        if settings.get(key):
            settings[key] = os.path.abspath(os.path.expanduser(settings[key]))
    format_options = dict(parser.items("slapformat")) if parser.has_section("slapformat") else {}
    format_settings = _convert("slapformat", FormatConfig, format_options)
    network = format_settings.get("ipv4_local_network")
    if network:
        try:
            ipaddress.IPv4Network(network, strict=False)
        except ValueError as error:
            raise ConfigError("[slapformat] ipv4_local_network: %s" % error) from None
    try:
        return NodeConfig(format=FormatConfig(**format_settings), **settings)
    except TypeError as error:
        raise ConfigError(str(error)) from None


def load(path):
    """The :class:`NodeConfig` of the file at ``path``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("cannot read %s: %s" % (path, error)) from None
    return parse(text, path)
