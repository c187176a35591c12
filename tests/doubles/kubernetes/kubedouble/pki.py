# TEST DOUBLE - NOT KUBERNETES. The certificates of Ipv6Dind's kubeadm test double.
"""The cluster CA (baked into the test image), client certificates signed by it, and kubeadm's CA pin."""

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile

from .common import Rejected, path

# Made by `openssl req -x509` when the test image is built, so every container of one image shares the CA and a
# join in one container can verify the hash printed by an init in another, as with a real cluster.
BAKED_CA_DIR = "/kind/double-ca"
PKI_DIR = "/etc/kubernetes/pki"


def _openssl(args, what):
    result = subprocess.run(["openssl"] + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise Rejected(f"test double: openssl failed while {what}: {result.stderr.strip()}")
    return result.stdout


def pem_to_der(pem_text):
    lines = [l.strip() for l in pem_text.splitlines()]
    try:
        start = lines.index("-----BEGIN CERTIFICATE-----")
        end = lines.index("-----END CERTIFICATE-----", start)
    except ValueError:
        raise Rejected("the CA file holds no PEM certificate")
    return base64.b64decode("".join(lines[start + 1:end]))


def _read_tlv(data, offset):
    """(tag, start of value, end of value) of the DER element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[offset:offset + n], "big")
        offset += n
    return tag, offset, offset + length


def subject_public_key_info(der):
    """
    The raw DER bytes of tbsCertificate.subjectPublicKeyInfo, exactly what Go's x509.Certificate.RawSubjectPublicKeyInfo
    holds and what kubeadm hashes (cmd/kubeadm/app/util/pubkeypin: "sha256:" + hex(sha256(RawSubjectPublicKeyInfo))).
    """
    tag, start, _ = _read_tlv(der, 0)          # Certificate SEQUENCE
    tag, start, _ = _read_tlv(der, start)      # tbsCertificate SEQUENCE
    pos = start
    tag, _, end = _read_tlv(der, pos)
    if tag == 0xA0:                            # [0] EXPLICIT version
        pos = end
    # serialNumber, signature, issuer, validity, subject
    for _ in range(5):
        _, _, pos = _read_tlv(der, pos)
    tag, _, end = _read_tlv(der, pos)
    if tag != 0x30:
        raise Rejected("the CA certificate's subjectPublicKeyInfo is not where X.509 puts it")
    return der[pos:end]


def ca_cert_hash(ca_pem_text):
    return "sha256:" + hashlib.sha256(subject_public_key_info(pem_to_der(ca_pem_text))).hexdigest()


def baked_ca():
    crt = os.path.join(path(BAKED_CA_DIR), "ca.crt")
    key = os.path.join(path(BAKED_CA_DIR), "ca.key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        raise Rejected(f"test double: the baked CA is missing from {BAKED_CA_DIR} (was the image built from "
                       "tests/doubles/kubernetes/Dockerfile?)")
    return crt, key


def ensure_cluster_ca():
    """/etc/kubernetes/pki/ca.{crt,key}: kept when present (kubeadm uses an existing CA), else the baked one."""
    pki = path(PKI_DIR)
    crt, key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        baked_crt, baked_key = baked_ca()
        os.makedirs(pki, exist_ok=True)
        shutil.copyfile(baked_crt, crt)
        os.chmod(crt, 0o644)
        shutil.copyfile(baked_key, key)
        os.chmod(key, 0o600)
    return crt, key


def client_certificate(ca_crt, ca_key, common_name, organization):
    """(cert PEM, key PEM) for a client certificate signed by the CA, RSA 2048 as kubeadm's default."""
    return _certificate(ca_crt, ca_key, common_name, organization, "extendedKeyUsage=clientAuth\n")


def serving_certificate(ca_crt, ca_key, common_name, dns_names, ip_addresses):
    """(cert PEM, key PEM) for kube-apiserver's serving certificate with its subject alternative names."""
    sans = ",".join([f"DNS:{n}" for n in dns_names] + [f"IP:{a}" for a in ip_addresses])
    return _certificate(ca_crt, ca_key, common_name, None, f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}\n")


def _certificate(ca_crt, ca_key, common_name, organization, extensions):
    with tempfile.TemporaryDirectory(prefix="kube-double-") as tmp:
        key = os.path.join(tmp, "client.key")
        csr = os.path.join(tmp, "client.csr")
        crt = os.path.join(tmp, "client.crt")
        ext = os.path.join(tmp, "ext.cnf")
        with open(ext, "w", encoding="utf-8") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n" + extensions)
        subject = f"/O={organization}/CN={common_name}" if organization else f"/CN={common_name}"
        _openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject],
                 f"making the key of {common_name}")
        _openssl(["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-days", "365", "-sha256",
                  "-set_serial", str(secrets.randbits(63)), "-extfile", ext, "-out", crt],
                 f"signing the certificate of {common_name}")
        with open(crt, encoding="utf-8") as f:
            cert_pem = f.read()
        with open(key, encoding="utf-8") as f:
            key_pem = f.read()
    return cert_pem, key_pem


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
