# TEST DOUBLE - NOT KUBERNETES. Value checks of Ipv6Dind's kubeadm test double.
"""IPv6-only value checks, in kubeadm's error style: "<path>: Invalid value: <value>: <why>"."""

import ipaddress
import json
import re

TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
CA_HASH = re.compile(r"^sha256:[0-9a-fA-F]{64}$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def invalid(where, value, why):
    return f"{where}: Invalid value: {json.dumps(value, default=str)}: {why}"


def _parse_ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ipv6_address(errors, where, value, allow_unspecified=False):
    """An IPv6 address (not IPv4, not IPv4-mapped); returns it or None after recording the problem."""
    if not isinstance(value, str):
        return None  # the schema walker reports the type
    ip = _parse_ip(value)
    if ip is None:
        errors.append(invalid(where, value, "not an IP address; this IPv6-only cluster needs an IPv6 address here"))
        return None
    if ip.version == 4:
        errors.append(invalid(where, value, "an IPv4 address in an IPv6-only cluster; give an IPv6 address"))
        return None
    if ip.ipv4_mapped is not None:
        errors.append(invalid(where, value, "an IPv4-mapped IPv6 address; give a native IPv6 address"))
        return None
    if ip.is_unspecified and not allow_unspecified:
        errors.append(invalid(where, value, "the unspecified address; give the node's own IPv6 address"))
        return None
    return ip


def ipv6_cidrs(errors, where, value):
    """A CIDR or a comma-separated list of them, all IPv6 network addresses; returns the networks."""
    if not isinstance(value, str):
        return []
    result = []
    for part in value.split(","):
        part = part.strip()
        try:
            net = ipaddress.ip_network(part, strict=True)
        except ValueError as e:
            errors.append(invalid(where, value, f"'{part}' is not a CIDR network address ({e})"))
            continue
        if net.version == 4:
            errors.append(invalid(where, value, f"'{part}' is an IPv4 range in an IPv6-only cluster; give an IPv6 CIDR"))
            continue
        result.append(net)
    return result


def host_port(errors, where, value, require_port):
    """"[v6]:port", "name:port" or (when the port is optional) a bare v6 address or name; IPv4 is refused."""
    if not isinstance(value, str) or value == "":
        errors.append(invalid(where, value, "an endpoint such as \"[fd00::1]:6443\" is required"))
        return None, None
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", value)
    if m:
        host, port = m.group(1), m.group(2)
        if ipv6_address(errors, where, host) is None:
            return None, None
    else:
        if value.count(":") > 1:
            errors.append(invalid(where, value, "an IPv6 address with a port must be bracketed: \"[fd00::1]:6443\""))
            return None, None
        host, _, port = value.partition(":")
        port = port or None
        ip = _parse_ip(host)
        if ip is not None and ip.version == 4:
            errors.append(invalid(where, value, "an IPv4 endpoint in an IPv6-only cluster; use \"[<IPv6>]:<port>\""))
            return None, None
        if ip is None and not DNS1123_SUBDOMAIN.match(host):
            errors.append(invalid(where, value, "neither a bracketed IPv6 address nor a DNS name"))
            return None, None
    if port is None:
        if require_port:
            errors.append(invalid(where, value, "a port is required, e.g. \"[fd00::1]:6443\""))
            return None, None
        return host, None
    if not (1 <= int(port) <= 65535):
        errors.append(invalid(where, value, "the port must be 1-65535"))
        return None, None
    return host, int(port)


def token(errors, where, value):
    if isinstance(value, str) and not TOKEN.match(value):
        errors.append(invalid(where, value, "the bootstrap token must be of the form \"[a-z0-9]{6}.[a-z0-9]{16}\""))


def dns_subdomain(errors, where, value, allow_wildcard=False):
    if not isinstance(value, str):
        return
    name = value[2:] if allow_wildcard and value.startswith("*.") else value
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(invalid(where, value, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                            "characters, '-' or '.', and must start and end with an alphanumeric character"))
