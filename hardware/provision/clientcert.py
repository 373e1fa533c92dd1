"""An agent's TLS files: the broker's CA certificate, and optionally a client certificate.

Provisioning copies the CA certificate the agent verifies the broker with (``ca.pem`` of
``deploy/mosquitto/make-tls.sh``) next to the agent's files. With ``--client-cert`` it also
makes the agent a key and, given the CA's key, a certificate signed by that CA (common
name: the agent's MQTT user; extended key usage: client authentication); without the CA's
key it writes a signing request for whoever holds it. The ``openssl`` command does the
cryptography, as the deploy scripts do, so nothing is hand-rolled. A current certificate
(chains to the CA, names the user, more than 30 days left) is kept, so provisioning again
changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hardware.provision.files import write_file, write_private
from linli.errors import ConfigError

CLIENT_DAYS = 825
RENEW_BEFORE_S = 30 * 24 * 3600

CertState = Literal["new", "kept", "request"]
"""A certificate was issued, the current one kept, or only a signing request written."""


@dataclass(frozen=True, slots=True)
class AgentTls:
    """What the installer gave for the agent's TLS (``linli hardware provision``)."""

    ca_cert: Path | None = None
    """The broker's CA certificate: copied for the agent, which verifies the broker with it."""
    client_cert: bool = False
    ca_key: Path | None = None
    """The CA's key: signs the agent's certificate (else a signing request is written)."""
    agent_dir: Path | None = None
    """Where the agent's files will be on its machine (default: where they are written)."""

    def check(self, *, tls: bool) -> None:
        """ConfigError for options that cannot work together."""
        if (self.ca_cert or self.client_cert) and not tls:
            raise ConfigError("--broker-ca and --client-cert need a mqtts:// broker URL")
        if self.ca_key and not self.client_cert:
            raise ConfigError("--ca-key signs client certificates: add --client-cert")
        if self.ca_key and not self.ca_cert:
            raise ConfigError("--ca-key needs --broker-ca (the CA certificate it belongs to)")
        for path in (self.ca_cert, self.ca_key):
            if path is not None and not path.is_file():
                raise ConfigError(f"{path}: no such file")


@dataclass(frozen=True, slots=True)
class ClientFiles:
    """The agent's key, certificate and signing request (``{c}-{b}.key|.crt|.csr``)."""

    key: Path
    cert: Path
    request: Path


def client_files(agent_config: Path) -> ClientFiles:
    """Next to the agent's configuration, named like it."""
    return ClientFiles(agent_config.with_suffix(".key"), agent_config.with_suffix(".crt"),
                       agent_config.with_suffix(".csr"))


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("openssl")
    if binary is None:
        raise ConfigError("client certificates need the openssl command (apt-get install openssl)")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False,
                          timeout=60)


def _must(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["failed"])[0]
        raise ConfigError(f"openssl could not {what}: {first}")


def certificate_is_current(cert: Path, ca_cert: Path, username: str) -> bool:
    """True when ``cert`` chains to ``ca_cert``, is for ``username`` and has 30 days left."""
    if not cert.is_file():
        return False
    subject = _openssl("x509", "-in", str(cert), "-noout", "-subject", "-nameopt", "RFC2253")
    return (subject.returncode == 0 and subject.stdout.strip() == f"subject=CN={username}"
            and _openssl("verify", "-CAfile", str(ca_cert), str(cert)).returncode == 0
            and _openssl("x509", "-in", str(cert), "-noout", "-checkend",
                         str(RENEW_BEFORE_S)).returncode == 0)


def write_client_files(files: ClientFiles, username: str, tls: AgentTls) -> tuple[CertState,
                                                                                 list[Path]]:
    """The agent's key (kept once made), and its certificate or a signing request."""
    if tls.ca_key is not None and tls.ca_cert is not None \
            and files.key.is_file() and certificate_is_current(files.cert, tls.ca_cert, username):
        return "kept", []
    if tls.ca_key is None and files.cert.is_file() and tls.ca_cert is not None \
            and certificate_is_current(files.cert, tls.ca_cert, username):
        return "kept", []  # signed earlier (by whoever holds the CA's key)
    if tls.ca_key is None and files.key.is_file() and files.request.is_file():
        return "request", []  # still waiting to be signed
    changed = []
    with tempfile.TemporaryDirectory(prefix="linli-cert-") as tmp:
        work = Path(tmp)
        if not files.key.is_file():
            _must(_openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-out", str(work / "key.pem")),
                  "make a key")
            write_private(files.key, (work / "key.pem").read_text(encoding="ascii"))
            changed.append(files.key)
        _must(_openssl("req", "-new", "-key", str(files.key), "-subj", f"/CN={username}",
                       "-out", str(work / "req.pem")), "make a signing request")
        if tls.ca_key is None or tls.ca_cert is None:
            if write_file(files.request, (work / "req.pem").read_text(encoding="ascii")):
                changed.append(files.request)
            return "request", changed
        (work / "ext").write_text("basicConstraints=critical,CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=clientAuth\n", encoding="ascii")
        serial = _openssl("rand", "-hex", "16")
        _must(serial, "make a serial number")
        _must(_openssl("x509", "-req", "-in", str(work / "req.pem"), "-CA", str(tls.ca_cert),
                       "-CAkey", str(tls.ca_key), "-set_serial", f"0x{serial.stdout.strip()}",
                       "-days", str(CLIENT_DAYS), "-sha256", "-extfile", str(work / "ext"),
                       "-out", str(work / "cert.pem")), "sign the client certificate")
        if write_file(files.cert, (work / "cert.pem").read_text(encoding="ascii")):
            changed.append(files.cert)
    return "new", changed
