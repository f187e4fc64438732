"""A self-signed certificate for 127.0.0.1/localhost, so the fake can be served over HTTPS.

simple-salesforce builds every URL as ``https://...``; the fake therefore has to speak TLS. The pair is
made once per machine and cached in the temp dir (regenerated when missing or about to expire).
Clients trust it by pointing ``requests`` at the certificate: ``session.verify = cert_path``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_LOCK = threading.Lock()
_DIR = Path(tempfile.gettempdir()) / "horseshoe-sandbox-tls"


def _valid(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def _generate(cert_path: Path, key_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    # Write to temp names then rename, so a concurrent process never reads half a file.
    tmp_cert = cert_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_key = key_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    tmp_key.chmod(0o600)
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_key.replace(key_path)
    tmp_cert.replace(cert_path)


def localhost_cert(directory: Path | None = None) -> tuple[str, str]:
    """Return ``(cert_path, key_path)`` for 127.0.0.1/localhost, creating them on first use."""
    base = directory or _DIR
    with _LOCK:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert_path, key_path = base / "cert.pem", base / "key.pem"
        if not (key_path.exists() and _valid(cert_path)):
            _generate(cert_path, key_path)
        return str(cert_path), str(key_path)
