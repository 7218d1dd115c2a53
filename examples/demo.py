"""The README's demo: azidentity against its built-in Entra ID emulator, end to end.

Starts the emulator (HTTPS on 127.0.0.1 with a CA it generates), then shows a service
principal getting tokens (sync and async), a certificate credential, what a failure looks
like, DefaultAzureCredential picking up the environment, and `azidentity doctor`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys

import azidentity
import azidentity.aio
from azidentity.emulator import Emulator

SCOPE = "https://storage.azure.com/.default"


def claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def show(title: str, token: str) -> None:
    c = claims(token)
    print(
        f"  {title}: aud={c['aud']} tid={c['tid']} appid={c.get('appid')} oid={c.get('oid')} exp={c['exp']}"
    )


def main() -> int:
    with Emulator() as emu:
        print(f"Entra ID emulator at {emu.base_url} (CA bundle: {emu.ca_bundle_path})\n")
        common = {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path}
        secret_app, cert_app = emu.apps["secret"], emu.apps["cert"]

        print("1. ClientSecretCredential, sync and async (same flow, two drivers)")
        with azidentity.ClientSecretCredential(
            emu.tenant_id, secret_app.client_id, secret_app.secret, **common
        ) as c:
            show("sync ", c.get_token(SCOPE).token)

        async def async_part() -> str:
            async with azidentity.aio.ClientSecretCredential(
                emu.tenant_id, secret_app.client_id, secret_app.secret, **common
            ) as c:
                return (await c.get_token(SCOPE)).token

        show("async", asyncio.run(async_part()))

        print("\n2. CertificateCredential (PKCS#12 with a password)")
        with azidentity.CertificateCredential(
            emu.tenant_id,
            cert_app.client_id,
            cert_app.pfx_password_path,
            password=cert_app.cert_password,
            **common,
        ) as c:
            show("cert ", c.get_token(SCOPE).token)

        print("\n3. A failure, as users see it (an expired client secret):\n")
        with azidentity.ClientSecretCredential(
            emu.tenant_id, secret_app.client_id, secret_app.expired_secret, retry_total=0, **common
        ) as c:
            try:
                c.get_token(SCOPE)
            except azidentity.AuthenticationFailedError as error:
                print("  " + str(error).replace("\n", "\n  "))
                print(f"\n  error.error_code={error.error_code!r} error.status_code={error.status_code}")

        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_"))
        }
        env.update(emu.env())
        # Nothing on this machine is an Azure VM: point IMDS at the emulator's (absent) identity so
        # DefaultAzureCredential's managed identity step answers fast and never leaves 127.0.0.1.
        env.setdefault("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.mi_base_url)

        print("\n4. DefaultAzureCredential from the environment (`azidentity token`):\n")
        token = subprocess.run(
            [sys.executable, "-m", "azidentity", "token", "--scope", SCOPE],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        print("  " + (token.stdout + token.stderr).strip().replace("\n", "\n  "))

        print("\n5. `azidentity doctor` on this machine, pointed at the emulator:\n")
        doctor = subprocess.run(
            [sys.executable, "-m", "azidentity", "doctor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        print("  " + (doctor.stdout + doctor.stderr).strip().replace("\n", "\n  "))
        return 0 if token.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
