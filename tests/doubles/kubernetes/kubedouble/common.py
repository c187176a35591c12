# TEST DOUBLE - NOT KUBERNETES. Shared plumbing of Ipv6Dind's kubeadm/kubelet/kubectl/ctr test doubles.
"""Paths, the version file, the call log, strict YAML and the schema walker."""

import datetime
import json
import os
import re
import sys

import yaml

from . import schemas

# Every absolute path the doubles touch goes through here, so that a developer can run them on a host under a
# scratch root (KUBE_DOUBLE_ROOT=/tmp/x); inside the test image the root is "/".
ROOT = os.environ.get("KUBE_DOUBLE_ROOT", "/")

VERSION_FILE = "/kind/version"
CALL_LOG = "/var/log/kubernetes-double/calls.jsonl"
DEFAULT_VERSION = "v1.31.2"


def path(p):
    return os.path.join(ROOT, p.lstrip("/")) if ROOT != "/" else p


class Rejected(Exception):
    """A refusal, as the real tool would refuse: the message goes to stderr and the exit code is 1."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


def read_version():
    """(text, (major, minor, patch)) from /kind/version, e.g. ("v1.31.2", (1, 31, 2))."""
    try:
        with open(path(VERSION_FILE), encoding="utf-8") as f:
            text = f.read().strip()
    except FileNotFoundError:
        text = DEFAULT_VERSION
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?", text)
    if not m:
        raise Rejected(f"{VERSION_FILE}: '{text}' is not a Kubernetes version such as v1.31.2")
    if not text.startswith("v"):
        text = "v" + text
    return text, tuple(int(g) for g in m.groups())


def run(tool, argv, main):
    """Runs main(argv) and appends {argv, time, ok, error} to the call log, whatever happens."""
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    error = None
    code = 0
    try:
        code = main(argv) or 0
    except Rejected as e:
        error = str(e)
        code = e.exit_code
        print(error, file=sys.stderr)
    except Exception as e:  # a bug in the double must still be recorded, and be told apart from a refusal
        error = f"test double internal error: {type(e).__name__}: {e}"
        code = 2
        print(error, file=sys.stderr)
    try:
        os.makedirs(os.path.dirname(path(CALL_LOG)), exist_ok=True)
        with open(path(CALL_LOG), "a", encoding="utf-8") as f:
            f.write(json.dumps({"argv": [tool] + list(argv), "time": started, "ok": code == 0, "error": error}) + "\n")
    except OSError as e:
        print(f"test double: cannot write {CALL_LOG}: {e}", file=sys.stderr)
    return code


# ---- YAML as sigs.k8s.io/yaml reads it --------------------------------------------------------------------------

class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, as sigs.k8s.io/yaml's strict mode does ("key already set in map")."""


def _mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    result = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1})", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_documents(file_name):
    """The non-empty documents of a multi-document YAML file, with their 1-based position."""
    try:
        with open(path(file_name), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise Rejected(f"unable to read config from \"{file_name}\": open {file_name}: no such file or directory")
    try:
        docs = list(yaml.load_all(text, Loader=StrictLoader))
    except yaml.YAMLError as e:
        raise Rejected(f"error converting YAML to JSON in {file_name}: {e}")
    return [(i + 1, d) for i, d in enumerate(docs) if d is not None]


# ---- the schema walker ------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^[-+]?(0|(\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, int):
        return f"number {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_type(value, typ, where, errors):
    """Appends "<path>: <problem>" to errors for every unknown field or wrongly typed value under value."""
    if value is None:
        return  # encoding/json leaves the zero value for null; so do the real tools
    if isinstance(typ, schemas.Struct):
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object ({typ.name}), got {describe(value)}")
            return
        for key, item in value.items():
            sub = f"{where}.{key}" if where else str(key)
            if not isinstance(key, str):
                errors.append(f"{sub}: field names must be strings")
            elif key not in typ.fields:
                errors.append(f"{sub}: unknown field \"{key}\" (not a field of {typ.name}; its fields are "
                              f"{', '.join(typ.fields)})")
            else:
                check_type(item, typ.fields[key], sub, errors)
    elif isinstance(typ, schemas.MapOf):
        if not isinstance(value, dict):
            errors.append(f"{where}: expected {typ.name}, got {describe(value)}")
            return
        for key, item in value.items():
            check_type(item, typ.value, f"{where}[{key}]", errors)
    elif isinstance(typ, schemas.ListOf):
        if not isinstance(value, list):
            errors.append(f"{where}: expected {typ.name}, got {describe(value)}")
            return
        for i, item in enumerate(value):
            check_type(item, typ.item, f"{where}[{i}]", errors)
    elif isinstance(typ, schemas.Duration):
        if not isinstance(value, str) or not _DURATION.match(value):
            errors.append(f"{where}: expected a {typ.name}, got {describe(value)}")
    elif isinstance(typ, schemas.Time):
        if not (isinstance(value, (datetime.datetime, datetime.date)) or
                (isinstance(value, str) and _RFC3339.match(value))):
            errors.append(f"{where}: expected an {typ.name}, got {describe(value)}")
    elif isinstance(typ, schemas.Raw):
        if not isinstance(value, (dict, str, int)):
            errors.append(f"{where}: expected {typ.name}, got {describe(value)}")
    elif isinstance(typ, schemas.Scalar):
        if not typ.check(value):
            errors.append(f"{where}: cannot unmarshal {describe(value)} into Go value of type {typ.name}")
    else:
        raise AssertionError(f"unknown schema type {typ!r}")


def get(doc, dotted, default=None):
    """doc["a"]["b"] for "a.b", or default when any step is missing or null."""
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or cur.get(part) is None:
            return default
        cur = cur[part]
    return cur


def write_file(file_name, content, mode=0o644):
    full = path(file_name)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(full, mode)
