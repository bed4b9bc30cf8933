"""Loopback websites for the website and certificate checks: HTTPS servers with
certificates made here (a trustme CA the run trusts through REQUESTS_CA_BUNDLE,
or self-signed), and plain HTTP servers that do or do not redirect to HTTPS."""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Site:
    url: str
    port: int


def leaf(ca: trustme.CA, days: float) -> trustme.LeafCert:
    """A certificate of ``ca`` for 127.0.0.1 that ends ``days`` from now (negative: ended)."""
    now = datetime.now(UTC)
    return ca.issue_cert(
        HOST,
        "localhost",
        not_before=now - timedelta(days=400),
        not_after=now + timedelta(days=days),
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: valid dates, nobody vouches for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "self-signed.pem", folder / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _handler(status: int, location: str | None, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            body = b"<html><body>De Gouden Leeuw</body></html>"
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(
    *,
    context: ssl.SSLContext | None = None,
    status: int = 200,
    location: str | None = None,
    delay: float = 0.0,
) -> Iterator[Site]:
    """A site on a free loopback port: HTTPS with ``context``, else plain HTTP."""
    server = ThreadingHTTPServer((HOST, 0), _handler(status, location, delay))
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield Site(f"{scheme}://{HOST}:{port}/", port)
    finally:
        server.shutdown()
        server.server_close()


def server_context(
    cert: trustme.LeafCert | None = None, files: tuple[Path, Path] | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert is not None:
        cert.configure_cert(context)
    elif files is not None:
        context.load_cert_chain(*files)
    return context
