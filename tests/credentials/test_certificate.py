"""CertificateCredential: PEM and PKCS#12, passwords, chains, and precise loading errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from azidentity import AuthenticationFailedError

SCOPE = "https://management.azure.com/.default"


def make(flavor, emu, path=None, name="CertificateCredential", **kwargs):
    app = emu.apps["cert"]
    return flavor.make(
        name,
        emu.tenant_id,
        app.client_id,
        path or app.cert_pem_path,
        authority=emu.base_url,
        connection_verify=emu.ca_bundle_path,
        **kwargs,
    )


def _assertion_header(emu) -> dict:
    form = [r.form for r in emu.requests if r.route == "token"][-1]
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    head = form["client_assertion"].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


@pytest.mark.parametrize("variant", ["pem", "pem-encrypted", "pfx", "pfx-password"])
def test_formats(flavor, emulator, variant):
    app = emulator.apps["cert"]
    path, password = {
        "pem": (app.cert_pem_path, None),
        "pem-encrypted": (app.cert_pem_encrypted_path, app.cert_password),
        "pfx": (app.pfx_path, None),
        "pfx-password": (app.pfx_password_path, app.cert_password),
    }[variant]
    credential = make(flavor, emulator, path, password=password)
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["appid"] == app.client_id
    header = _assertion_header(emulator)
    assert header["alg"] == "PS256"
    assert base64.urlsafe_b64decode(header["x5t#S256"] + "==").hex() == app.thumbprint_sha256.lower()
    assert base64.urlsafe_b64decode(header["x5t"] + "==").hex() == app.thumbprint_sha1.lower()
    assert "x5c" not in header


def test_certificate_data_and_password_bytes(flavor, emulator):
    app = emulator.apps["cert"]
    data = Path(app.pfx_password_path).read_bytes()
    credential = flavor.make(
        "CertificateCredential",
        emulator.tenant_id,
        app.client_id,
        certificate_data=data,
        password=app.cert_password.encode(),
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    assert flavor.get_token(credential, SCOPE).token


def test_send_certificate_chain(flavor, emulator):
    app = emulator.apps["cert"]
    credential = make(flavor, emulator, app.chain_pem_path, send_certificate_chain=True)
    assert flavor.get_token(credential, SCOPE).token
    header = _assertion_header(emulator)
    assert len(header["x5c"]) == 2  # leaf first, then the intermediate


def test_go_name_prints_its_own_name(flavor, emulator):
    app = emulator.apps["cert"]
    credential = make(flavor, emulator, app.unregistered_pem_path, name="ClientCertificateCredential")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert str(info.value).startswith("ClientCertificateCredential authentication failed")
    assert info.value.error_code == "AADSTS700027"
    assert info.value.troubleshooting_anchor == "clientcertificatecredential"
    assert "Upload the certificate" in info.value.mitigation


def test_app_not_found(flavor, emulator):
    app = emulator.apps["cert"]
    credential = flavor.make(
        "CertificateCredential",
        emulator.tenant_id,
        "00000000-0000-0000-0000-00000000dead",
        app.cert_pem_path,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert info.value.error_code == "AADSTS700016"
    assert info.value.troubleshooting_anchor == "clientcertificatecredential"


def _certificate_and_key(pem_path: str) -> tuple[bytes, bytes]:
    """The certificate and the private key of a PEM file, each re-serialized on its own."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = Path(pem_path).read_bytes()
    key = serialization.load_pem_private_key(pem, None)
    return (
        x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def test_loading_errors_name_the_problem(flavor, emulator, tmp_path):
    app = emulator.apps["cert"]
    cls = flavor.cls("CertificateCredential")
    args = (emulator.tenant_id, app.client_id)
    with pytest.raises(ValueError, match="encrypted; pass its password"):
        cls(*args, app.cert_pem_encrypted_path)
    with pytest.raises(ValueError, match="password .* is wrong"):
        cls(*args, app.cert_pem_encrypted_path, password="wrong-password")
    with pytest.raises(ValueError, match="PKCS#12 .* password is wrong"):
        cls(*args, app.pfx_password_path, password="wrong-password")
    with pytest.raises(ValueError, match="pass its password"):
        cls(*args, app.pfx_password_path)
    certificate, key = _certificate_and_key(app.cert_pem_path)
    cert_only = tmp_path / "cert-only.pem"
    cert_only.write_bytes(certificate)
    with pytest.raises(ValueError, match="contains no private key"):
        cls(*args, str(cert_only))
    key_only = tmp_path / "key-only.pem"
    key_only.write_bytes(key)
    with pytest.raises(ValueError, match="no CERTIFICATE"):
        cls(*args, str(key_only))
    garbage = tmp_path / "garbage.pfx"
    garbage.write_bytes(b"\x00\x01 not a certificate")
    with pytest.raises(ValueError, match="neither PEM nor readable PKCS#12"):
        cls(*args, str(garbage))
    with pytest.raises(ValueError, match="cannot be read"):
        cls(*args, str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="not both"):
        cls(*args, app.cert_pem_path, certificate_data=b"x")
    with pytest.raises(ValueError, match="requires a value"):
        cls(*args)


def test_non_rsa_key_refused(flavor, emulator, tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ec.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="RSA key is required"):
        flavor.cls("CertificateCredential")("t", "c", str(path))


def test_certificate_cryptography_warns_about(flavor, emulator, tmp_path):
    """A certificate with a negative serial number: cryptography only warns (it will refuse such
    certificates later). Where warnings are errors (as in this suite), the error names the input."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.utils import CryptographyDeprecationWarning

    certificate, key = _certificate_and_key(emulator.apps["cert"].cert_pem_path)
    cert = x509.load_pem_x509_certificate(certificate)
    der = cert.public_bytes(serialization.Encoding.DER)
    serial = cert.serial_number.to_bytes(cert.serial_number.bit_length() // 8 + 1, "big")
    at = der.index(bytes([2, len(serial)]) + serial) + 2  # the INTEGER's first content byte
    negative = der[:at] + bytes([der[at] | 0x80]) + der[at + 1 :]
    body = base64.encodebytes(negative).decode()
    path = tmp_path / "negative-serial.pem"
    path.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n{key.decode()}")
    cls = flavor.cls("CertificateCredential")
    with pytest.raises(ValueError, match=r"negative-serial\.pem .* warnings filter makes warnings errors"):
        cls(emulator.tenant_id, "c", str(path))
    with pytest.warns(CryptographyDeprecationWarning, match="serial number"):
        cls(emulator.tenant_id, "c", str(path))
