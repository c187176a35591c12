# TEST DOUBLE - NOT KUBEADM. Ipv6Dind's tests install this in an image layer of their own to stand in for kubeadm,
# which cannot run on the machines the tests run on. It parses and checks the configuration it is given against the
# upstream types (schemas.py) and the IPv6-only rules of the lab, writes the files real kubeadm writes that Ipv6Dind
# reads, prints what real kubeadm prints at the end, and records every call. It runs no control plane: only, where
# systemd runs, an API server double (apiserver.py) that serves the few calls Ipv6Dind makes.
"""kubeadm version | init | join | reset, as a test double."""

import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time

import yaml

from . import apiserver, checks, pki, schemas
from .common import Rejected, check_type, get, load_documents, path, read_version, write_file

KUBEADM_GROUP = "kubeadm.k8s.io/"
V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
SUPER_ADMIN_CONF = "/etc/kubernetes/super-admin.conf"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_FLAGS = "/var/lib/kubelet/kubeadm-flags.env"

# What kubeadm itself would fill in with IPv4 defaults when a field is left out: in an IPv6-only cluster these
# must be given.
SERVICE_SUBNET_DEFAULT = "its IPv4 default range"

CONNTRACK_SAGA = (
    "kube-proxy must run with conntrack.maxPerCore: 0 in a node container. Otherwise it computes nf_conntrack_max "
    "from maxPerCore x CPUs (default 32768 per core) and, when that is over four times the conntrack hashsize, "
    "writes /sys/module/nf_conntrack/parameters/hashsize, which inside a container fails with \"operation not "
    "supported\" and kube-proxy exits (kubeadm-dind-cluster issue 50, its conntrack saga). A command-line flag "
    "does not help once a config file is given; 0 means \"leave the limit as it is\", as kind sets it too.")


def as_list(value):
    """The value when it is a list (a wrong type has been reported by the schema walker already), else []."""
    return value if isinstance(value, list) else []


def required_api_version(kver):
    """v1beta4 from kubeadm 1.31 on, v1beta3 before (the rule KubeadmRenderer.ApiVersionFor follows)."""
    return V1BETA4 if kver[:2] >= (1, 31) else V1BETA3


# ---- argument parsing (cobra style) -----------------------------------------------------------------------------

def parse_flags(argv, known, command):
    """{flag: value} from --flag=value, --flag value and bare --flag (when known[flag] is False: no value)."""
    flags, rest = {}, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.lstrip("-").partition("=")
            if name not in known:
                raise Rejected(f"unknown flag: {arg.split('=')[0]}\nTo see the stack trace of this error execute "
                               f"with --v=5 or higher (test double: kubeadm {command} knows {', '.join('--' + k for k in known)})")
            if known[name]:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise Rejected(f"flag needs an argument: --{name}")
                    value = argv[i]
            else:
                value = value or "true"
            flags[name] = value
        else:
            rest.append(arg)
        i += 1
    return flags, rest


# ---- configuration loading --------------------------------------------------------------------------------------

def load_config(file_name, allowed_kinds, kver, kver_text, errors):
    """{kind: (apiVersion, doc)} after the schema check; problems go to errors."""
    wanted = required_api_version(kver)
    found = {}
    for pos, doc in load_documents(file_name):
        label = f"{file_name} document {pos}"
        if not isinstance(doc, dict):
            errors.append(f"{label}: expected a mapping with apiVersion and kind, got {type(doc).__name__}")
            continue
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            errors.append(f"{label}: Object 'Kind' or 'apiVersion' is missing in the document")
            continue
        if api_version.startswith(KUBEADM_GROUP):
            group = schemas.KUBEADM.get(api_version)
            if group is None:
                errors.append(f"{label}: apiVersion {api_version} is not a kubeadm API version this kubeadm "
                              f"{kver_text} knows (it reads {wanted})")
                continue
            if api_version != wanted:
                if api_version == V1BETA4:
                    why = f"kubeadm {kver_text} predates v1beta4 (released in 1.31); it reads {V1BETA3}"
                else:
                    why = (f"kubeadm {kver_text} deprecates v1beta3; Ipv6Dind renders {V1BETA4} from 1.31 on "
                           "(KubeadmRenderer.ApiVersionFor), so v1beta3 here means the wrong version was rendered")
                errors.append(f"{kind}.apiVersion: Invalid value: \"{api_version}\": {why}")
            schema = group.get(kind)
        else:
            schema = schemas.COMPONENTS.get((api_version, kind))
        if schema is None or kind not in allowed_kinds:
            errors.append(f"{label}: kind {kind} ({api_version}) is not read here; "
                          f"expected {' / '.join(allowed_kinds)}")
            continue
        if kind in found:
            errors.append(f"{label}: a second {kind} document")
            continue
        found[kind] = (api_version, doc)
        check_type(doc, schema, kind, errors)
    return found


def args_of(value, v1beta4, where, errors):
    """extraArgs / kubeletExtraArgs as (name, value) pairs: a string map in v1beta3, a list of {name, value} in v1beta4."""
    if value is None:
        return []
    pairs = []
    if v1beta4:
        if isinstance(value, dict):
            errors.append(f"{where}: v1beta4 takes a list of {{name, value}} here, not a map "
                          "(kubeadm changed extraArgs and kubeletExtraArgs to []Arg in v1beta4)")
            return []
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    name = item.get("name")
                    if not isinstance(name, str) or not name:
                        errors.append(f"{where}[{i}].name: Required value: an argument needs a name")
                        continue
                    pairs.append((name, item.get("value") if isinstance(item.get("value"), str) else "", f"{where}[{i}].value"))
    else:
        if isinstance(value, list):
            errors.append(f"{where}: v1beta3 takes a map of flag name to value here, not a list "
                          "(the list of {name, value} is v1beta4's shape)")
            return []
        if isinstance(value, dict):
            for name, item in value.items():
                pairs.append((str(name), item if isinstance(item, str) else "", f"{where}[{name}]"))
    return pairs


def check_node_registration(nr, v1beta4, where, errors):
    nr = nr if isinstance(nr, dict) else {}
    name = nr.get("name") or socket.gethostname()
    if "name" in nr:
        checks.dns_subdomain(errors, f"{where}.name", nr["name"])
    cri = nr.get("criSocket")
    if isinstance(cri, str) and not cri.startswith("unix://"):
        errors.append(checks.invalid(f"{where}.criSocket", cri, "a CRI socket URL such as unix:///run/containerd/containerd.sock"))
    args = args_of(nr.get("kubeletExtraArgs"), v1beta4, f"{where}.kubeletExtraArgs", errors)
    for arg, value, at in args:
        if arg == "node-ip":
            for part in value.split(","):
                checks.ipv6_address(errors, at, part.strip())
    return name, args


def check_component_args(cluster, v1beta4, errors):
    """The control-plane components' extraArgs; returns {component: {name: value}} (last one wins)."""
    result = {}
    for component in ("apiServer", "controllerManager", "scheduler"):
        where = f"ClusterConfiguration.{component}.extraArgs"
        values = {}
        for name, value, at in args_of(get(cluster, f"{component}.extraArgs"), v1beta4, where, errors):
            if name in ("bind-address", "advertise-address"):
                checks.ipv6_address(errors, at, value, allow_unspecified=(name == "bind-address"))
            elif name in ("service-cluster-ip-range", "cluster-cidr"):
                checks.ipv6_cidrs(errors, at, value)
            values[name] = value
        result[component] = values
    etcd_args = get(cluster, "etcd.local.extraArgs")
    args_of(etcd_args, v1beta4, "ClusterConfiguration.etcd.local.extraArgs", errors)
    return result


def check_init(found, kver_text, errors):
    init = found.get("InitConfiguration", (None, None))[1]
    cluster = found.get("ClusterConfiguration", (None, None))[1]
    if init is None:
        errors.append("InitConfiguration: Required value: the double needs the InitConfiguration "
                      "(kubeadm would guess the advertise address, usually an IPv4 one)")
    if cluster is None:
        errors.append("ClusterConfiguration: Required value: the double needs the ClusterConfiguration "
                      f"(kubeadm would default serviceSubnet to {SERVICE_SUBNET_DEFAULT})")
    if init is None or cluster is None:
        return None
    v1beta4 = found["InitConfiguration"][0] == V1BETA4
    if found["ClusterConfiguration"][0] != found["InitConfiguration"][0]:
        errors.append(f"ClusterConfiguration.apiVersion: Invalid value: \"{found['ClusterConfiguration'][0]}\": "
                      f"the InitConfiguration is {found['InitConfiguration'][0]}; kubeadm reads one API version per file")

    tokens = []
    for i, t in enumerate(as_list(init.get("bootstrapTokens"))):
        if isinstance(t, dict):
            if t.get("token") is None:
                errors.append(f"InitConfiguration.bootstrapTokens[{i}].token: Required value")
            checks.token(errors, f"InitConfiguration.bootstrapTokens[{i}].token", t.get("token"))
            tokens.append(t.get("token"))

    advertise = get(init, "localAPIEndpoint.advertiseAddress")
    if advertise is None:
        errors.append("InitConfiguration.localAPIEndpoint.advertiseAddress: Required value: without it kubeadm "
                      "advertises the address of the default route's interface; give the node's IPv6 address")
    else:
        checks.ipv6_address(errors, "InitConfiguration.localAPIEndpoint.advertiseAddress", advertise)
    bind_port = get(init, "localAPIEndpoint.bindPort", 6443)
    if isinstance(bind_port, int) and not 1 <= bind_port <= 65535:
        errors.append(checks.invalid("InitConfiguration.localAPIEndpoint.bindPort", bind_port, "must be 1-65535"))
    node_name, kubelet_args = check_node_registration(init.get("nodeRegistration"), v1beta4,
                                                      "InitConfiguration.nodeRegistration", errors)

    version = cluster.get("kubernetesVersion")
    if isinstance(version, str) and version.lstrip("v") != kver_text.lstrip("v"):
        errors.append(checks.invalid("ClusterConfiguration.kubernetesVersion", version,
                                     f"this node's kubeadm is {kver_text}; any other version makes kubeadm pull images "
                                     "(no registry here); give the node image's exact version"))
    endpoint = cluster.get("controlPlaneEndpoint")
    endpoint_host = endpoint_port = None
    if endpoint is not None:
        endpoint_host, endpoint_port = checks.host_port(errors, "ClusterConfiguration.controlPlaneEndpoint", endpoint,
                                                        require_port=False)
    pods = services = None
    if get(cluster, "networking.podSubnet") is None:
        errors.append("ClusterConfiguration.networking.podSubnet: Required value: the controller-manager allocates "
                      "each node's pod range from it (allocate-node-cidrs)")
    else:
        pods = checks.ipv6_cidrs(errors, "ClusterConfiguration.networking.podSubnet", cluster["networking"]["podSubnet"])
    if get(cluster, "networking.serviceSubnet") is None:
        errors.append("ClusterConfiguration.networking.serviceSubnet: Required value: kubeadm's default is "
                      f"{SERVICE_SUBNET_DEFAULT}")
    else:
        services = checks.ipv6_cidrs(errors, "ClusterConfiguration.networking.serviceSubnet",
                                     cluster["networking"]["serviceSubnet"])
        for net in services:
            if net.prefixlen < 108:
                errors.append(checks.invalid("ClusterConfiguration.networking.serviceSubnet", str(net),
                                             "specified service subnet is too large; for 128-bit addresses, the mask must be >= 108"))
    if get(cluster, "networking.dnsDomain") is not None:
        checks.dns_subdomain(errors, "ClusterConfiguration.networking.dnsDomain", cluster["networking"]["dnsDomain"])
    for i, san in enumerate(as_list(get(cluster, "apiServer.certSANs"))):
        where = f"ClusterConfiguration.apiServer.certSANs[{i}]"
        if isinstance(san, str):
            if checks._parse_ip(san) is not None:
                checks.ipv6_address(errors, where, san)
            else:
                checks.dns_subdomain(errors, where, san, allow_wildcard=True)
    components = check_component_args(cluster, v1beta4, errors)
    mask_text = components["controllerManager"].get("node-cidr-mask-size-ipv6", "64")
    if pods and components["controllerManager"].get("allocate-node-cidrs") != "false":
        try:
            mask = int(mask_text)
        except ValueError:
            mask = None
            errors.append(checks.invalid("ClusterConfiguration.controllerManager.extraArgs[node-cidr-mask-size-ipv6]",
                                         mask_text, "not a number"))
        if mask is not None:
            for net in pods:
                # kubeadm's ValidatePodSubnetNodeMask (cmd/kubeadm/app/apis/kubeadm/validation/validation.go).
                if net.prefixlen > mask:
                    errors.append(checks.invalid("ClusterConfiguration.networking.podSubnet", str(net),
                                                 f"the size of pod subnet with mask {net.prefixlen} is smaller than the "
                                                 f"size of node subnet with mask {mask} (node-cidr-mask-size-ipv6)"))
                elif mask - net.prefixlen > 16:
                    errors.append(checks.invalid("ClusterConfiguration.networking.podSubnet", str(net),
                                                 f"pod subnet mask ({net.prefixlen}) and node-mask ({mask}) difference "
                                                 "is greater than 16"))

    kubelet = found.get("KubeletConfiguration", (None, None))[1]
    if kubelet is not None:
        for i, dns in enumerate(as_list(kubelet.get("clusterDNS"))):
            checks.ipv6_address(errors, f"KubeletConfiguration.clusterDNS[{i}]", dns)
        for field in ("address", "healthzBindAddress"):
            if kubelet.get(field) is not None:
                checks.ipv6_address(errors, f"KubeletConfiguration.{field}", kubelet[field], allow_unspecified=(field == "address"))
        if kubelet.get("clusterDomain") is not None:
            checks.dns_subdomain(errors, "KubeletConfiguration.clusterDomain", kubelet["clusterDomain"])
        driver = kubelet.get("cgroupDriver")
        if driver is not None and driver not in ("systemd", "cgroupfs"):
            errors.append(checks.invalid("KubeletConfiguration.cgroupDriver", driver, "must be systemd or cgroupfs"))
        for field in ("imageGCHighThresholdPercent", "imageGCLowThresholdPercent"):
            v = kubelet.get(field)
            if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= 100:
                errors.append(checks.invalid(f"KubeletConfiguration.{field}", v, "must be between 0 and 100, inclusive"))

    proxy = found.get("KubeProxyConfiguration", (None, None))[1]
    if proxy is None:
        errors.append("KubeProxyConfiguration: Required value: without it kube-proxy runs with "
                      "conntrack.maxPerCore 32768. " + CONNTRACK_SAGA)
    else:
        if proxy.get("bindAddress") is not None:
            checks.ipv6_address(errors, "KubeProxyConfiguration.bindAddress", proxy["bindAddress"], allow_unspecified=True)
        if proxy.get("clusterCIDR") is not None:
            checks.ipv6_cidrs(errors, "KubeProxyConfiguration.clusterCIDR", proxy["clusterCIDR"])
        for field in ("healthzBindAddress", "metricsBindAddress"):
            if proxy.get(field) is not None:
                checks.host_port(errors, f"KubeProxyConfiguration.{field}", proxy[field], require_port=False)
        mode = proxy.get("mode")
        if mode is not None and mode not in ("", "iptables", "ipvs", "nftables"):
            errors.append(checks.invalid("KubeProxyConfiguration.mode", mode, "must be iptables, ipvs or nftables on Linux"))
        max_per_core = get(proxy, "conntrack.maxPerCore")
        if max_per_core is None:
            errors.append("KubeProxyConfiguration.conntrack.maxPerCore: Required value: it defaults to 32768. "
                          + CONNTRACK_SAGA)
        elif max_per_core != 0:
            errors.append(checks.invalid("KubeProxyConfiguration.conntrack.maxPerCore", max_per_core, CONNTRACK_SAGA))

    return {
        "v1beta4": v1beta4,
        "tokens": [t for t in tokens if isinstance(t, str)],
        "advertise": advertise,
        "bind_port": bind_port if isinstance(bind_port, int) and bind_port else 6443,
        "endpoint": (endpoint_host, endpoint_port),
        "node_name": node_name,
        "kubelet_args": kubelet_args,
        "cri_socket": get(init, "nodeRegistration.criSocket"),
        "cluster_name": cluster.get("clusterName") or "kubernetes",
        "kubelet": kubelet,
        "cert_sans": [s for s in as_list(get(cluster, "apiServer.certSANs")) if isinstance(s, str)],
        "service_subnet": get(cluster, "networking.serviceSubnet"),
        "proxy": proxy,
    }


# ---- files kubeadm writes ---------------------------------------------------------------------------------------

def server_url(host, port):
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def kubeconfig(cluster_name, server, ca_pem, user, cert_pem, key_pem):
    context = f"{user}@{cluster_name}"
    return yaml.safe_dump({
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": pki.b64(ca_pem), "server": server},
                      "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"client-certificate-data": pki.b64(cert_pem),
                                          "client-key-data": pki.b64(key_pem)}}],
    }, sort_keys=False)


def write_kubelet_flags(kubelet_args):
    flags = " ".join(f"--{name}={value}" for name, value, _ in kubelet_args)
    write_file(KUBELET_FLAGS, f"KUBELET_KUBEADM_ARGS=\"{flags}\"\n")


def read_ca():
    crt, key = pki.ensure_cluster_ca()
    with open(crt, encoding="utf-8") as f:
        return crt, key, f.read()


# ---- commands ---------------------------------------------------------------------------------------------------

def cmd_version(argv):
    flags, _ = parse_flags(argv, {"o": True, "output": True, "v": True}, "version")
    text, (major, minor, _) = read_version()
    output = flags.get("o") or flags.get("output") or ""
    info = {"major": str(major), "minor": str(minor), "gitVersion": text, "gitTreeState": "clean",
            "goVersion": "test-double", "compiler": "gc", "platform": "linux/amd64"}
    if output == "short":
        print(text)
    elif output == "json":
        print(json.dumps({"clientVersion": info}, indent=2))
    elif output == "yaml":
        print(yaml.safe_dump({"clientVersion": info}, sort_keys=False), end="")
    elif output == "":
        print(f"kubeadm version: &version.Info{{Major:\"{major}\", Minor:\"{minor}\", GitVersion:\"{text}\", "
              f"GitTreeState:\"clean\", GoVersion:\"test-double\", Compiler:\"gc\", Platform:\"linux/amd64\"}}")
    else:
        raise Rejected(f"invalid output format: {output}")
    return 0


def _config_flag(flags, command):
    config = flags.get("config")
    if not config:
        raise Rejected(f"test double: kubeadm {command} needs --config=<file> (the double reads no flags-only setup)")
    return config


def _reject_if(errors, command):
    if errors:
        raise Rejected(f"[{command}] the configuration was rejected (kubeadm test double, {len(errors)} problem"
                       f"{'s' if len(errors) != 1 else ''}):\n" + "\n".join("  " + e for e in errors))


def cmd_init(argv):
    flags, rest = parse_flags(argv, {"config": True, "skip-phases": True, "skip-token-print": False, "v": True,
                                     "ignore-preflight-errors": True}, "init")
    if rest:
        raise Rejected(f"unknown command \"{rest[0]}\" for \"kubeadm init\"")
    config = _config_flag(flags, "init")
    kver_text, kver = read_version()
    errors = []
    found = load_config(config, ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration",
                                 "KubeProxyConfiguration"], kver, kver_text, errors)
    facts = check_init(found, kver_text, errors)
    _reject_if(errors, "init")

    print(f"[init] Using Kubernetes version: {kver_text}")
    if "preflight" in (flags.get("skip-phases") or "").split(","):
        print("[preflight] Skipped (--skip-phases=preflight)")
    crt, key, ca_pem = read_ca()
    print("[certs] Using certificateDir folder \"/etc/kubernetes/pki\"")
    host, port = facts["endpoint"]
    server = server_url(host, port or facts["bind_port"]) if host else server_url(facts["advertise"], facts["bind_port"])
    # 1.29 moved kubernetes-admin out of system:masters into kubeadm:cluster-admins and added super-admin.conf.
    admin_group = "kubeadm:cluster-admins" if kver[:2] >= (1, 29) else "system:masters"
    cert, key_pem = pki.client_certificate(crt, key, "kubernetes-admin", admin_group)
    write_file(ADMIN_CONF, kubeconfig(facts["cluster_name"], server, ca_pem, "kubernetes-admin", cert, key_pem), 0o600)
    print("[kubeconfig] Writing \"admin.conf\" kubeconfig file")
    if kver[:2] >= (1, 29):
        cert, key_pem = pki.client_certificate(crt, key, "kubernetes-super-admin", "system:masters")
        write_file(SUPER_ADMIN_CONF, kubeconfig(facts["cluster_name"], server, ca_pem, "kubernetes-super-admin",
                                                cert, key_pem), 0o600)
        print("[kubeconfig] Writing \"super-admin.conf\" kubeconfig file")
    node_user = f"system:node:{facts['node_name']}"
    cert, key_pem = pki.client_certificate(crt, key, node_user, "system:nodes")
    write_file(KUBELET_CONF, kubeconfig(facts["cluster_name"], server, ca_pem, node_user, cert, key_pem), 0o600)
    print("[kubeconfig] Writing \"kubelet.conf\" kubeconfig file")
    kubelet = dict(facts["kubelet"] or {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"})
    if facts["cri_socket"] and "containerRuntimeEndpoint" not in kubelet:
        kubelet["containerRuntimeEndpoint"] = facts["cri_socket"]
    write_file(KUBELET_CONFIG, yaml.safe_dump(kubelet, sort_keys=False))
    write_kubelet_flags(facts["kubelet_args"])
    print(f"[kubelet-start] Writing kubelet environment file with flags to file \"{KUBELET_FLAGS}\"")
    print(f"[kubelet-start] Writing kubelet configuration to file \"{KUBELET_CONFIG}\"")
    start_apiserver(facts, crt, key, kver_text)
    print("[addons] Applied essential addon: CoreDNS (test double: only the API objects exist)")
    print("[addons] Applied essential addon: kube-proxy (test double: only the API objects exist)")

    token = facts["tokens"][0] if facts["tokens"] else (secrets.token_hex(3) + "." + secrets.token_hex(8))
    shown = "<value withheld>" if flags.get("skip-token-print") else token
    ca_hash = pki.ca_cert_hash(ca_pem)
    join_host = server[len("https://"):]
    print(f"""
Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join {join_host} --token {shown} \\
\t--discovery-token-ca-cert-hash {ca_hash} """)
    return 0


def check_join(found, errors):
    join = found.get("JoinConfiguration", (None, None))[1]
    if join is None:
        errors.append("JoinConfiguration: Required value: kubeadm join --config needs a JoinConfiguration document")
        return None
    v1beta4 = found["JoinConfiguration"][0] == V1BETA4
    if join.get("controlPlane") is not None:
        errors.append("JoinConfiguration.controlPlane: Forbidden: Ipv6Dind joins workers only; the double runs no "
                      "second control plane")
    if get(join, "discovery.file") is not None:
        errors.append("JoinConfiguration.discovery.file: Forbidden: the double supports bootstrap-token discovery only")
    bt = get(join, "discovery.bootstrapToken")
    bt = bt if bt is None or isinstance(bt, dict) else {}
    endpoint = None
    hashes = []
    if bt is None:
        errors.append("JoinConfiguration.discovery.bootstrapToken: Required value: bootstrap-token discovery "
                      "(token, apiServerEndpoint, caCertHashes)")
    else:
        if bt.get("token") is None:
            errors.append("JoinConfiguration.discovery.bootstrapToken.token: Required value")
        checks.token(errors, "JoinConfiguration.discovery.bootstrapToken.token", bt.get("token"))
        host, port = checks.host_port(errors, "JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint",
                                      bt.get("apiServerEndpoint"), require_port=True)
        if host is not None and checks._parse_ip(host) is None:
            errors.append(checks.invalid("JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint",
                                         bt.get("apiServerEndpoint"),
                                         "must be \"[<IPv6 address>]:<port>\": nodes resolve no names before joining"))
        elif host is not None:
            endpoint = (host, port)
        if bt.get("unsafeSkipCAVerification"):
            errors.append(checks.invalid("JoinConfiguration.discovery.bootstrapToken.unsafeSkipCAVerification", True,
                                         "Ipv6Dind pins the cluster CA with caCertHashes; the double refuses to skip "
                                         "CA verification"))
        hashes = as_list(bt.get("caCertHashes"))
        if not hashes:
            errors.append("JoinConfiguration.discovery.bootstrapToken.caCertHashes: Required value: using token-based "
                          "discovery without caCertHashes can be unsafe (the double requires the pin)")
        for i, h in enumerate(hashes):
            if isinstance(h, str) and not checks.CA_HASH.match(h):
                errors.append(checks.invalid(f"JoinConfiguration.discovery.bootstrapToken.caCertHashes[{i}]", h,
                                             "must be \"sha256:<64 hex digits>\" (the only supported type is sha256)"))
    ca_path = join.get("caCertPath")
    if isinstance(ca_path, str) and (not ca_path.startswith("/") or not ca_path.endswith(".crt")):
        errors.append(checks.invalid("JoinConfiguration.caCertPath", ca_path, "the ca certificate path must be an absolute path"))
    if get(join, "discovery.tlsBootstrapToken") is not None:
        checks.token(errors, "JoinConfiguration.discovery.tlsBootstrapToken", join["discovery"]["tlsBootstrapToken"])
    node_name, kubelet_args = check_node_registration(join.get("nodeRegistration"), v1beta4,
                                                      "JoinConfiguration.nodeRegistration", errors)
    return {"endpoint": endpoint, "hashes": [h.lower() for h in hashes if isinstance(h, str)],
            "node_name": node_name, "kubelet_args": kubelet_args}


def cmd_join(argv):
    flags, rest = parse_flags(argv, {"config": True, "skip-phases": True, "v": True,
                                     "ignore-preflight-errors": True}, "join")
    if len(rest) > 1:
        raise Rejected(f"unknown command \"{rest[1]}\" for \"kubeadm join\"")
    config = _config_flag(flags, "join")
    kver_text, kver = read_version()
    errors = []
    found = load_config(config, ["JoinConfiguration"], kver, kver_text, errors)
    facts = check_join(found, errors)
    _reject_if(errors, "join")

    # Discovery: the CA that the control plane's cluster-info ConfigMap would carry is the image's baked one.
    baked_crt, _ = pki.baked_ca()
    with open(baked_crt, encoding="utf-8") as f:
        ca_pem = f.read()
    actual = pki.ca_cert_hash(ca_pem)
    host, port = facts["endpoint"]
    print(f"[preflight] Running pre-flight checks")
    print(f"[discovery] Trying to connect to API Server \"[{host}]:{port}\" (test double: no connection is made)")
    if actual not in facts["hashes"]:
        raise Rejected(f"error execution phase preflight: couldn't validate the identity of the API Server: cluster "
                       f"CA found in cluster-info ConfigMap is invalid: none of the public keys \"{actual}\" are "
                       f"pinned (the configuration pins {', '.join(facts['hashes'])})")
    print(f"[discovery] Cluster info signature and contents are valid and TLS certificate validates against "
          f"pinned roots, will use API Server \"[{host}]:{port}\"")
    pki_dir = path(pki.PKI_DIR)
    os.makedirs(pki_dir, exist_ok=True)
    shutil.copyfile(baked_crt, os.path.join(pki_dir, "ca.crt"))
    _, baked_key = pki.baked_ca()
    node_user = f"system:node:{facts['node_name']}"
    cert, key_pem = pki.client_certificate(baked_crt, baked_key, node_user, "system:nodes")
    write_file(KUBELET_CONF, kubeconfig("kubernetes", server_url(host, port), ca_pem, node_user, cert, key_pem), 0o600)
    write_kubelet_flags(facts["kubelet_args"])
    print(f"[kubelet-start] Writing kubelet environment file with flags to file \"{KUBELET_FLAGS}\"")
    register_node(host, port, facts, cert, key_pem, baked_crt, kver_text)
    print("""
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.
""")
    return 0


RESET_FILES = [ADMIN_CONF, SUPER_ADMIN_CONF, KUBELET_CONF, "/etc/kubernetes/bootstrap-kubelet.conf",
               "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf", KUBELET_CONFIG, KUBELET_FLAGS]


def cmd_reset(argv):
    flags, _ = parse_flags(argv, {"force": False, "f": False, "v": True, "cri-socket": True,
                                  "ignore-preflight-errors": True}, "reset")
    if not (flags.get("force") or flags.get("f")):
        raise Rejected("test double: kubeadm reset asks for confirmation; the double cannot prompt, give --force")
    stop_apiserver()
    removed = []
    for f in RESET_FILES:
        if os.path.exists(path(f)):
            os.remove(path(f))
            removed.append(f)
    if os.path.isdir(path(pki.PKI_DIR)):
        shutil.rmtree(path(pki.PKI_DIR))
        removed.append(pki.PKI_DIR)
    print("[reset] Deleting files: [" + " ".join(removed) + "]")
    print("\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d")
    return 0


def cmd_token(argv):
    """kubeadm token create [--ttl D]: a fresh bootstrap token, as Add-DindNode asks the control plane for one."""
    if argv[:1] != ["create"]:
        raise Rejected("test double: only 'kubeadm token create' is supported")
    parse_flags(argv[1:], {"ttl": True, "v": True, "kubeconfig": True}, "token create")
    if not os.path.exists(path(ADMIN_CONF)):
        raise Rejected(f"test double: {ADMIN_CONF} does not exist: kubeadm init has not run on this node")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token = "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))
    print(token)
    return 0


# ---- the API server double (kubedouble/apiserver.py) ------------------------------------------------------------

APISERVER_UNIT = "/etc/systemd/system/" + apiserver.UNIT
APISERVER_CRT = "/etc/kubernetes/pki/apiserver.crt"
APISERVER_KEY = "/etc/kubernetes/pki/apiserver.key"
# kubeadm's Corefile, shared with the in-process fake API (tests/Ipv6Dind.FakeKubeApi embeds the same file).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kubeadm-1.31-Corefile"), encoding="utf-8") as _f:
    DEFAULT_COREFILE = _f.read()


def _systemd():
    return os.path.isdir("/run/systemd/system") and shutil.which("systemctl") is not None


def _node_ip(facts, fallback):
    for name, value, _ in facts["kubelet_args"]:
        if name == "node-ip":
            return value
    return fallback


def start_apiserver(facts, ca_crt, ca_key, version):
    """The serving certificate kubeadm's certs phase makes, the API objects its addon phases make, and the server."""
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
           facts["node_name"], "localhost"]
    ips = [facts["advertise"]] if facts["advertise"] else []
    if facts["service_subnet"]:
        ips.append(str(next(ipaddress.ip_network(str(facts["service_subnet"]).split(",")[0], strict=False).hosts())))
    for san in facts["cert_sans"]:
        try:
            ips.append(str(ipaddress.ip_address(san)))
        except ValueError:
            dns.append(san)
    cert, key = pki.serving_certificate(ca_crt, ca_key, "kube-apiserver", list(dict.fromkeys(dns)), list(dict.fromkeys(ips)))
    write_file(APISERVER_CRT, cert, 0o644)
    write_file(APISERVER_KEY, key, 0o600)
    print(f"[certs] Generating \"apiserver\" certificate and key (serving, SANs {', '.join(dns + ips)})")
    node = apiserver.node_object(facts["node_name"], _node_ip(facts, facts["advertise"]), version, control_plane=True)
    proxy = yaml.safe_dump(facts["proxy"], sort_keys=False) if facts["proxy"] else ""
    apiserver.write_state(apiserver.initial_state(version, node, DEFAULT_COREFILE, proxy))
    if not _systemd():
        print("[control-plane] test double: no systemd in this container, the API server double is not started")
        return
    write_file(APISERVER_UNIT, f"""# TEST DOUBLE - NOT KUBERNETES (Ipv6Dind tests)
[Unit]
Description=kube-apiserver TEST DOUBLE (Ipv6Dind tests; not Kubernetes)
After=network-online.target

[Service]
Environment=PYTHONPATH=/usr/local/lib/kube-double
ExecStart=/usr/bin/python3 -m kubedouble.apiserver serve {facts['bind_port']} {APISERVER_CRT} {APISERVER_KEY} {pki.PKI_DIR}/ca.crt
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
""")
    for args in (["daemon-reload"], ["enable", apiserver.UNIT], ["restart", apiserver.UNIT]):
        result = subprocess.run(["systemctl"] + args, capture_output=True, text=True)
        if result.returncode != 0:
            raise Rejected(f"test double: systemctl {' '.join(args)} failed: {result.stderr.strip()}")
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("::1", facts["bind_port"]), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise Rejected(f"test double: the API server double did not listen on [::1]:{facts['bind_port']} within 20 s "
                               f"(journalctl -u {apiserver.UNIT})")
            time.sleep(0.2)
    print(f"[control-plane] kube-apiserver TEST DOUBLE serving on [::]:{facts['bind_port']} ({apiserver.UNIT})")


REGISTER_DIR = "/var/lib/kubernetes-double/kubelet"
REGISTER_LOG = "/var/log/kubernetes-double/register.log"


def register_node(host, port, facts, cert_pem, key_pem, ca_file, version):
    """
    What the kubelet does after a join: POST its Node to the API server with the client certificate join made, and
    keep trying until it answers (in the background, as a kubelet would; the log is REGISTER_LOG). A node that never
    registers is never Ready, which is what callers then see.
    """
    node = apiserver.node_object(facts["node_name"], _node_ip(facts, ""), version, control_plane=False)
    folder = path(REGISTER_DIR)
    os.makedirs(folder, exist_ok=True)
    write_file(os.path.join(REGISTER_DIR, "node.json"), json.dumps(node), 0o600)
    write_file(os.path.join(REGISTER_DIR, "client.crt"), cert_pem, 0o600)
    write_file(os.path.join(REGISTER_DIR, "client.key"), key_pem, 0o600)
    os.makedirs(os.path.dirname(path(REGISTER_LOG)), exist_ok=True)
    with open(path(REGISTER_LOG), "a", encoding="utf-8") as log:
        subprocess.Popen([sys.executable, "-m", "kubedouble.apiserver", "register", f"{server_url(host, port)}/api/v1/nodes",
                          os.path.join(folder, "node.json"), os.path.join(folder, "client.crt"),
                          os.path.join(folder, "client.key"), ca_file],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                         env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    print(f"[kubelet-start] test double: node {facts['node_name']} registers with the API server at "
          f"{server_url(host, port)} in the background (log {REGISTER_LOG})")


def stop_apiserver():
    if os.path.exists(path(APISERVER_UNIT)) and _systemd():
        subprocess.run(["systemctl", "disable", "--now", apiserver.UNIT], capture_output=True, text=True)
        os.remove(path(APISERVER_UNIT))
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, text=True)
    if os.path.exists(path(apiserver.STATE)):
        os.remove(path(apiserver.STATE))


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("kubeadm TEST DOUBLE (Ipv6Dind tests): version | init | join | reset | token create")
        return 0
    command, rest = argv[0], argv[1:]
    commands = {"version": cmd_version, "init": cmd_init, "join": cmd_join, "reset": cmd_reset, "token": cmd_token}
    if command not in commands:
        raise Rejected(f"unknown command \"{command}\" for \"kubeadm\" (test double: {', '.join(commands)})")
    return commands[command](rest)
