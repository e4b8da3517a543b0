"""``format``: partition directories and their addresses, posted to the master (spec section 5.7).

Rootless (``alter_user = false``, the default here): partitions are directories of mode 0750
owned by the running user. Root mode (``alter_user = true``, as root) also creates the software
user and one user per partition (``node_twisted.users``). No taps or interface addresses are
created. Partitions come
from the ``input_definition_file`` when given (``[computer] address``, ``[partition_N] address``,
``pathname``, ``user``, ``network_interface``), else ``partition_amount`` partitions named
``<partition_base_name>N`` with consecutive addresses from ``ipv4_local_network``.
The computer is posted with ``loadComputerConfigurationFromXML``; what was posted is kept in
``computer_xml`` (marshal XML) so that an unchanged layout is posted only once.
"""

import configparser
import ipaddress
import json
import os
import platform
import pwd

from protocols.slap_wire import marshal as slap_marshal


class FormatError(Exception):
    """The layout cannot be made (bad definition file, root mode without root...)."""


def _address(text, where):
    ip, _, mask = text.strip().partition("/")
    try:
        ipaddress.ip_address(ip)
        if mask:
            ipaddress.ip_network("%s/%s" % (ip, mask), strict=False)
    except ValueError as error:
        raise FormatError("%s: bad address %r: %s" % (where, text, error)) from None
    return {"addr": ip, "netmask": mask or ("255.255.255.255" if ":" not in ip else "128")}


def _current_user():
    return pwd.getpwuid(os.getuid()).pw_name


def _from_definition(path, instance_root, user_for):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, path)
    except (OSError, configparser.Error) as error:
        raise FormatError("definition file %s: %s" % (path, error)) from None
    if not parser.has_option("computer", "address"):
        raise FormatError("definition file %s: [computer] address is required" % path)
    computer = _address(parser.get("computer", "address"), "[computer] address")
    partitions = []
    sections = sorted((s for s in parser.sections() if s.startswith("partition_")),
                      key=lambda s: (len(s), s))
    for section in sections:
        options = dict(parser.items(section))
        reference = options.get("pathname", "").strip()
        if not reference or "/" in reference or reference.startswith("."):
            raise FormatError("definition file %s: [%s] needs a plain pathname" % (path, section))
        interface = options.get("network_interface", "").strip()
        addresses = [_address(a, "[%s] address" % section)
                     for a in options.get("address", "").split()]
        for entry in addresses:
            if interface:
                entry["network_interface"] = interface
        partitions.append(_partition(reference, instance_root, addresses,
                                     user_for(len(partitions), options.get("user", "").strip()),
                                     options.get("capability_list", "").split()))
    return computer, partitions


def _from_amount(settings, instance_root, user_for):
    network = ipaddress.IPv4Network(settings.ipv4_local_network, strict=False)
    hosts = network.hosts()
    try:
        computer_ip = next(hosts)
        ips = [next(hosts) for _ in range(settings.partition_amount)]
    except StopIteration:
        raise FormatError("ipv4_local_network %s is too small for %d partitions"
                          % (network, settings.partition_amount)) from None
    computer = {"addr": str(computer_ip), "netmask": str(network.netmask)}
    partitions = [
        _partition("%s%d" % (settings.partition_base_name, i), instance_root,
                   [{"addr": str(ip), "netmask": str(network.netmask)}], user_for(i, ""), [])
        for i, ip in enumerate(ips)]
    return computer, partitions


def _partition(reference, instance_root, addresses, user, capabilities):
    entry = {
        "reference": reference,
        "path": os.path.join(instance_root, reference),
        "address_list": addresses,
        "external_storage_list": [],
        "ipv6_range": {},
        "tap": {"name": reference},
        "tun": {},
        "user": {"name": user, "additional_group_list": []},
    }
    if capabilities:
        entry["capability_list"] = capabilities
    return entry


def layout(config):
    """The computer dict ``loadComputerConfigurationFromXML`` carries for this configuration."""
    settings = config.format
    if settings.alter_network or settings.create_tap or settings.create_tun:
        raise FormatError("alter_network, create_tap and create_tun are not available: set "
                          "them to false (partitions share the host's addresses)")
    if settings.alter_user:
        if os.getuid() != 0:
            raise FormatError("alter_user = true needs root; set it to false for a rootless "
                              "node")

        def user_for(i, named):
            return named or "%s%d" % (settings.user_base_name, i)
    else:
        current = _current_user()

        def user_for(i, named):
            return current
    if settings.input_definition_file:
        computer, partitions = _from_definition(settings.input_definition_file,
                                                config.instance_root, user_for)
    else:
        computer, partitions = _from_amount(settings, config.instance_root, user_for)
    return {
        "reference": config.computer_id,
        "address": computer["addr"],
        "netmask": computer["netmask"],
        "interface": settings.interface_name,
        "ipv6_interface": settings.ipv6_interface,
        "partition_has_ipv6_range": settings.partition_has_ipv6_range,
        "software_user": settings.software_user,
        "tap_gateway_interface": settings.tap_gateway_interface,
        "tap_ipv6": settings.tap_ipv6,
        "instance_root": config.instance_root,
        "software_root": config.software_root,
        "instance_storage_home": settings.instance_storage_home,
        "public_ipv4_address": None,
        "os_type": json.dumps(list(platform.uname()[:3])),
        "python_version": platform.python_version(),
        "slapos_version": "slapgate",
        "partition_list": partitions,
    }


def make_directories(configuration):
    """Create the roots (0755) and every partition directory (0750) with ``.slapos-resource``."""
    for root in (configuration["instance_root"], configuration["software_root"]):
        os.makedirs(root, mode=0o755, exist_ok=True)
    for partition in configuration["partition_list"]:
        path = partition["path"]
        os.makedirs(path, mode=0o750, exist_ok=True)
        os.chmod(path, 0o750)
        resource = os.path.join(path, ".slapos-resource")
        text = json.dumps(partition, sort_keys=True, indent=2)
        try:
            with open(resource) as handle:
                if handle.read() == text:
                    continue
        except OSError:
            pass
        with open(resource, "w") as handle:
            handle.write(text)


def state_file(config):
    """Where the last posted layout is kept (``[slapformat] computer_xml``)."""
    return config.format.computer_xml or os.path.join(config.instance_root, ".slapgate-computer.xml")


def posted_layout(config):
    """The marshal XML last posted, or None."""
    try:
        with open(state_file(config), encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def remember_layout(config, xml):
    """Keep ``xml`` as the layout the master knows."""
    path = state_file(config)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(xml)
    os.replace(path + ".tmp", path)


def encode(configuration):
    """The marshal XML (str) of ``configuration`` (what is posted and remembered)."""
    return slap_marshal.dumps(configuration).decode("ascii")
