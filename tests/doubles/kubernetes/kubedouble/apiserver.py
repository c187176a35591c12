# TEST DOUBLE - NOT KUBERNETES. A stand-in for kube-apiserver in Ipv6Dind's test image; never shipped.
"""
The few API calls Ipv6Dind makes, served over HTTPS on [::]:<bindPort> of the control-plane node, so that the module's
whole path runs as on a real host: the port Docker publishes on the host's [::1], the kubeconfig the module rewrites
to it, TLS checked against the cluster CA with ::1 among the certificate's names, a client certificate, and
KubernetesClient over the wire.

`kubeadm init` (the double) writes the state and the serving certificate and starts this as the systemd unit
kube-apiserver-double.service; `kubeadm join` registers its node here (as a kubelet would); `kubeadm reset` stops it.
Nodes are Ready as soon as they are registered. The CoreDNS Deployment and kube-proxy DaemonSet roll out at once when
their pod template changes. Nothing else exists: no scheduler, no pods but the ones listed below, no watch.

Routes: GET /version (no client certificate needed); GET, POST /api/v1/nodes; DELETE /api/v1/nodes/<name>; GET and
PATCH (merge) the kube-system ConfigMaps coredns and kube-proxy, the Deployment coredns and the DaemonSet kube-proxy;
GET /api/v1/namespaces/<ns>/pods[?labelSelector=k=v]. Every request is appended to /var/log/kubernetes-double/api.jsonl.
"""

import copy
import datetime
import json
import os
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .common import path

STATE = "/var/lib/kubernetes-double/apiserver/state.json"
REQUEST_LOG = "/var/log/kubernetes-double/api.jsonl"
UNIT = "kube-apiserver-double.service"
SYSTEM = "kube-system"

_lock = threading.Lock()


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- state ------------------------------------------------------------------------------------------------------

def node_object(name, address, kubelet_version, control_plane):
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": now(), "uid": name},
        "spec": {},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status (test double)",
                            "lastHeartbeatTime": now(), "lastTransitionTime": now()}],
            "nodeInfo": {"kubeletVersion": kubelet_version, "kubeProxyVersion": kubelet_version,
                         "containerRuntimeVersion": "containerd://test-double", "operatingSystem": "linux",
                         "architecture": "amd64"},
        },
    }


def _workload(kind, name, api_version, replicas):
    status = {"observedGeneration": 1}
    if kind == "Deployment":
        status.update({"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
                       "availableReplicas": replicas})
    else:
        status.update({"desiredNumberScheduled": replicas, "currentNumberScheduled": replicas,
                       "updatedNumberScheduled": replicas, "numberReady": replicas, "numberAvailable": replicas})
    app = "kube-dns" if name == "coredns" else name   # kubeadm labels CoreDNS's pods k8s-app=kube-dns
    spec = {"selector": {"matchLabels": {"k8s-app": app}},
            "template": {"metadata": {"labels": {"k8s-app": app}},
                         "spec": {"containers": [{"name": name, "image": f"registry.k8s.io/{name}:test-double"}]}}}
    if kind == "Deployment":
        spec["replicas"] = replicas
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": SYSTEM, "generation": 1, "creationTimestamp": now(), "uid": name},
            "spec": spec, "status": status}


def initial_state(version, node, corefile, kube_proxy_config):
    return {
        "version": version,
        "nodes": {node["metadata"]["name"]: node},
        "configmaps": {
            "coredns": {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "coredns", "namespace": SYSTEM, "uid": "coredns", "resourceVersion": "1"},
                        "data": {"Corefile": corefile}},
            "kube-proxy": {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "kube-proxy", "namespace": SYSTEM, "uid": "kube-proxy",
                                        "resourceVersion": "1"},
                           "data": {"config.conf": kube_proxy_config}},
        },
        "deployments": {"coredns": _workload("Deployment", "coredns", "apps/v1", 2)},
        "daemonsets": {"kube-proxy": _workload("DaemonSet", "kube-proxy", "apps/v1", 1)},
    }


def write_state(state):
    target = path(STATE)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, target)


def read_state():
    with open(path(STATE), encoding="utf-8") as f:
        return json.load(f)


def pods(state, namespace, selector):
    """The CoreDNS and kube-proxy pods their workloads would have, one per node for kube-proxy."""
    items = []
    if namespace == SYSTEM:
        nodes = sorted(state["nodes"])
        coredns = state["deployments"]["coredns"]
        for i in range(coredns["spec"].get("replicas", 0)):
            items.append(_pod(f"coredns-{coredns['metadata']['generation']}-{i}", "kube-dns", nodes[i % len(nodes)] if nodes else ""))
        for n in nodes:
            items.append(_pod(f"kube-proxy-{n}", "kube-proxy", n))
    if selector:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        items = [p for p in items if all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
    return items


def _pod(name, app, node):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": SYSTEM, "labels": {"k8s-app": app}, "uid": name},
            "spec": {"nodeName": node},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def merge_patch(target, patch):
    """RFC 7386; for the maps Ipv6Dind patches a strategic merge patch means the same (null deletes a key)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch_workload(obj, patch):
    before = json.dumps(obj["spec"].get("template"), sort_keys=True)
    merged = merge_patch(obj, patch)
    if json.dumps(merged["spec"].get("template"), sort_keys=True) != before:
        # A new pod template: the controller rolls it out; here at once.
        generation = merged["metadata"].get("generation", 1) + 1
        merged["metadata"]["generation"] = generation
        merged["status"]["observedGeneration"] = generation
    return merged


# ---- HTTP -------------------------------------------------------------------------------------------------------

def status(code, reason, message):
    return code, {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "message": message,
                  "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-test-double"

    def log_message(self, fmt, *args):  # the request log below replaces the stderr lines
        pass

    def _reply(self, code, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        url = urllib.parse.urlsplit(self.path)
        route = url.path.rstrip("/") or "/"
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        user = None
        try:
            cert = self.connection.getpeercert()
            if cert:
                user = dict(x[0] for x in cert.get("subject", ())).get("commonName")
        except (AttributeError, ValueError):
            pass
        code, reply = self._route(method, route, query, body, user)
        self._reply(code, reply)
        try:
            os.makedirs(os.path.dirname(path(REQUEST_LOG)), exist_ok=True)
            with open(path(REQUEST_LOG), "a", encoding="utf-8") as f:
                f.write(json.dumps({"time": now(), "method": method, "path": self.path, "user": user, "code": code}) + "\n")
        except OSError:
            pass

    def _route(self, method, route, query, body, user):
        if route == "/version" and method == "GET":
            with _lock:
                version = read_state()["version"]
            major, minor = version.lstrip("v").split(".")[:2]
            return 200, {"major": major, "minor": minor, "gitVersion": version, "gitTreeState": "clean",
                         "goVersion": "test-double", "compiler": "gc", "platform": "linux/amd64"}
        if user is None:
            return status(401, "Unauthorized", "Unauthorized (the test double wants a client certificate of the cluster CA)")
        parts = route.strip("/").split("/")
        try:
            patch = json.loads(body) if body else None
        except ValueError:
            return status(400, "BadRequest", "the body is not JSON")
        with _lock:
            state = read_state()
            code, reply, changed = self._resource(method, parts, query, patch, state)
            if changed:
                write_state(state)
        return code, reply

    @staticmethod
    def _resource(method, parts, query, patch, state):
        if parts == ["api", "v1", "nodes"]:
            if method == "GET":
                items = [state["nodes"][n] for n in sorted(state["nodes"])]
                return 200, {"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": items}, False
            if method == "POST" and isinstance(patch, dict) and patch.get("metadata", {}).get("name"):
                name = patch["metadata"]["name"]
                state["nodes"][name] = patch
                return 201, patch, True
            return (*status(405, "MethodNotAllowed", f"{method} /api/v1/nodes"), False)
        if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4:
            name = parts[3]
            if name not in state["nodes"]:
                return (*status(404, "NotFound", f'nodes "{name}" not found'), False)
            if method == "GET":
                return 200, state["nodes"][name], False
            if method == "DELETE":
                del state["nodes"][name]
                return 200, {"apiVersion": "v1", "kind": "Status", "status": "Success", "details": {"name": name, "kind": "nodes"}}, True
        if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods" and method == "GET":
            selector = (query.get("labelSelector") or [""])[0]
            return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": pods(state, parts[3], selector)}, False
        kinds = {("api", "v1", "configmaps"): "configmaps", ("apis", "apps/v1", "deployments"): "deployments",
                 ("apis", "apps/v1", "daemonsets"): "daemonsets"}
        if len(parts) >= 6 and parts[-3] == SYSTEM:
            group = (parts[0], "/".join(parts[1:-4]), parts[-2])
            kind = kinds.get(group)
            if kind and parts[-4] == "namespaces":
                name = parts[-1]
                obj = state[kind].get(name)
                if obj is None:
                    return (*status(404, "NotFound", f'{kind} "{name}" not found'), False)
                if method == "GET":
                    return 200, obj, False
                if method == "PATCH" and isinstance(patch, dict):
                    state[kind][name] = patch_workload(obj, patch) if kind != "configmaps" else merge_patch(obj, patch)
                    return 200, state[kind][name], True
        return (*status(404, "NotFound", "the test double does not serve " + method + " /" + "/".join(parts)), False)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    tls = None

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def finish_request(self, request, client_address):
        # The TLS handshake in the connection's own thread: a client that stalls it holds up nobody else.
        request.settimeout(30)
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a dropped connection is the client's business


def serve(port, cert, key, ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_OPTIONAL   # /version answers without one, as kube-apiserver's does
    server = Server(("::", port), Handler)
    server.tls = context
    print(f"kube-apiserver TEST DOUBLE serving on [::]:{port}", flush=True)
    server.serve_forever()


def register(url, node_file, cert, key, ca, seconds=300):
    """A kubelet's registration: POST the Node until the API server answers (or `seconds` have passed)."""
    import time
    import urllib.error
    import urllib.request
    with open(node_file, encoding="utf-8") as f:
        body = f.read().encode("utf-8")
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    deadline = time.monotonic() + seconds
    while True:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as reply:
                print(f"{now()} registered with {url}: HTTP {reply.status}", flush=True)
                return 0
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                print(f"{now()} gave up registering with {url}: {e}", flush=True)
                return 1
            time.sleep(0.5)


if __name__ == "__main__":
    if sys.argv[1:2] == ["register"]:
        sys.exit(register(*sys.argv[2:7]))
    serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
