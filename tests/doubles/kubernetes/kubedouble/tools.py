# TEST DOUBLE - NOT KUBERNETES, NOT CONTAINERD. The kubelet, kubectl and ctr stand-ins of Ipv6Dind's tests: they
# answer version questions from /kind/version and record image imports; they run nothing.
"""kubelet --version, kubectl version --client, ctr images import|ls, as test doubles."""

import json
import os
import shutil
import sys
import tarfile
import tempfile

from .common import Rejected, load_documents, path, read_version, write_file

CTR_STATE_DIR = "/var/lib/kubernetes-double/ctr"
KUBECTL_APPLIED_DIR = "/var/lib/kubernetes-double/kubectl"


def kubelet_main(argv):
    text, _ = read_version()
    if argv in (["--version"], ["--version=true"]):
        print(f"Kubernetes {text}")
        return 0
    raise Rejected("test double: this kubelet only answers --version; it runs no node "
                   f"(called with: {' '.join(argv) or 'no arguments'})")


def kubectl_main(argv):
    text, (major, minor, _) = read_version()
    if argv[:1] == ["version"] and ("--client" in argv or "--client=true" in argv):
        output = ""
        for i, a in enumerate(argv):
            if a in ("-o", "--output") and i + 1 < len(argv):
                output = argv[i + 1]
            elif a.startswith("--output=") or a.startswith("-o="):
                output = a.partition("=")[2]
        if output == "json":
            info = {"major": str(major), "minor": str(minor), "gitVersion": text, "platform": "linux/amd64"}
            print(json.dumps({"clientVersion": info, "kustomizeVersion": "v5.4.2"}, indent=2))
            return 0
        if output:
            raise Rejected(f"test double: kubectl version -o {output} is not supported (json is)")
        print(f"Client Version: {text}\nKustomize Version: v5.4.2")
        return 0
    if "apply" in argv:
        return kubectl_apply(argv)
    raise Rejected("test double: this kubectl only answers `version --client` and `apply -f FILE`; there is no API "
                   f"server behind it (called with: {' '.join(argv) or 'no arguments'})")


def kubectl_apply(argv):
    """kubectl --kubeconfig=K apply -f F: checks the file as kubectl would read it, records it, applies nothing."""
    kubeconfig, files, rest = None, [], list(argv)
    rest.remove("apply")
    while rest:
        a = rest.pop(0)
        if a.startswith("--kubeconfig="):
            kubeconfig = a.partition("=")[2]
        elif a == "--kubeconfig" and rest:
            kubeconfig = rest.pop(0)
        elif a in ("-f", "--filename") and rest:
            files.append(rest.pop(0))
        elif a.startswith("--filename=") or a.startswith("-f="):
            files.append(a.partition("=")[2])
        else:
            raise Rejected(f"test double: kubectl apply: unsupported argument {a!r} (known: --kubeconfig, -f)")
    if not kubeconfig:
        raise Rejected("test double: kubectl apply without --kubeconfig would read ~/.kube/config, which a node does "
                       "not have (kind passes --kubeconfig=/etc/kubernetes/admin.conf)")
    if not os.path.exists(path(kubeconfig)):
        raise Rejected(f"error: stat {kubeconfig}: no such file or directory (kubeadm init has not run here)")
    if len(files) != 1:
        raise Rejected("error: must specify one of -f and -k (the double takes exactly one -f FILE)")
    created = []
    for position, doc in load_documents(files[0]):
        if not isinstance(doc, dict):
            raise Rejected(f"error: error validating \"{files[0]}\": document {position} is not an object")
        kind, api = doc.get("kind"), doc.get("apiVersion")
        name = (doc.get("metadata") or {}).get("name")
        missing = [f for f, v in (("apiVersion", api), ("kind", kind), ("metadata.name", name)) if not v]
        if missing:
            raise Rejected(f"error: error validating \"{files[0]}\": document {position}: {', '.join(missing)} not set")
        group = api.split("/")[0] if "/" in api else ""
        created.append(f"{kind.lower()}{'.' + group if group else ''}/{name} created")
    os.makedirs(path(KUBECTL_APPLIED_DIR), exist_ok=True)
    count = len([f for f in os.listdir(path(KUBECTL_APPLIED_DIR)) if f.startswith("applied-")])
    with open(path(files[0]), encoding="utf-8") as f:
        content = f.read()
    write_file(f"{KUBECTL_APPLIED_DIR}/applied-{count + 1}.yaml", content)
    print("\n".join(created))
    return 0


# ---- ctr ----------------------------------------------------------------------------------------------------------

def normalize(name):
    """containerd's reference: "busybox:1" -> "docker.io/library/busybox:1", as ctr import names docker archives."""
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def image_names(archive):
    """The image names in a docker-save (manifest.json) or OCI (index.json) archive; refuses anything else."""
    try:
        with tarfile.open(archive) as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers()}
            if "manifest.json" in members:
                manifest = json.load(tar.extractfile(members["manifest.json"]))
                if not isinstance(manifest, list):
                    raise Rejected(f"ctr: {archive}: manifest.json is not a docker-save manifest list")
                names = [t for entry in manifest for t in (entry.get("RepoTags") or [])]
            elif "index.json" in members:
                index = json.load(tar.extractfile(members["index.json"]))
                names = []
                for m in index.get("manifests") or []:
                    ann = m.get("annotations") or {}
                    name = ann.get("io.containerd.image.name") or ann.get("org.opencontainers.image.ref.name")
                    if name:
                        names.append(name)
            else:
                raise Rejected(f"ctr: {archive}: neither a docker-save archive (manifest.json) nor an OCI image "
                               "layout (index.json)")
    except tarfile.TarError as e:
        raise Rejected(f"ctr: {archive}: not a tar archive ({e})")
    except (ValueError, AttributeError) as e:
        raise Rejected(f"ctr: {archive}: unreadable image index ({e})")
    if not names:
        raise Rejected(f"ctr: {archive}: the archive names no image (no RepoTags / ref.name annotations)")
    return [normalize(n) for n in names]


def _state_file(namespace):
    return os.path.join(path(CTR_STATE_DIR), f"{namespace}.json")


def _load(namespace):
    try:
        with open(_state_file(namespace), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def ctr_main(argv):
    namespace = os.environ.get("CONTAINERD_NAMESPACE", "default")
    args = list(argv)
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("-n", "--namespace"):
            if not args:
                raise Rejected("ctr: flag needs an argument: --namespace")
            namespace = args.pop(0)
        elif flag.startswith("--namespace="):
            namespace = flag.partition("=")[2]
        elif flag in ("-a", "--address"):
            args.pop(0) if args else None
        elif flag.startswith("--address="):
            pass
        else:
            raise Rejected(f"ctr: flag provided but not defined: {flag}")
    if len(args) < 2 or args[0] not in ("images", "image", "i"):
        raise Rejected("test double: this ctr knows `images import <tar>` and `images ls [-q]` only "
                       f"(called with: {' '.join(argv)})")
    sub, rest = args[1], args[2:]
    if sub == "import":
        # "-" is the archive on stdin (kind's load docker-image feeds it that way), not a flag.
        files = [a for a in rest if a == "-" or not a.startswith("-")]
        unknown = [a for a in rest if a != "-" and a.startswith("-") and a.split("=")[0] not in
                   ("--all-platforms", "--digests", "--no-unpack", "--local", "--snapshotter", "--platform",
                    "--base-name", "--index-name")]
        if unknown:
            raise Rejected(f"ctr: flag provided but not defined: {unknown[0]}")
        if len(files) != 1:
            raise Rejected("ctr: images import needs exactly one archive (a path or - for stdin)")
        archive = files[0]
        tmp = None
        try:
            if archive == "-":
                fd, tmp = tempfile.mkstemp(prefix="ctr-import-")
                with os.fdopen(fd, "wb") as f:
                    shutil.copyfileobj(sys.stdin.buffer, f)
                archive = tmp
            elif not os.path.exists(path(archive)):
                raise Rejected(f"ctr: open {archive}: no such file or directory")
            else:
                archive = path(archive)
            names = image_names(archive)
        finally:
            if tmp:
                os.remove(tmp)
        images = _load(namespace)
        for name in names:
            if name not in images:
                images.append(name)
            print(f"unpacking {name} (test double: recorded only)...done")
        write_file(_state_file(namespace), json.dumps(images, indent=1) + "\n")
        return 0
    if sub in ("ls", "list"):
        images = _load(namespace)
        if "-q" in rest or "--quiet" in rest:
            for name in images:
                print(name)
        else:
            print("REF")
            for name in images:
                print(name)
        return 0
    raise Rejected(f"test double: ctr images {sub} is not supported (import and ls are)")
