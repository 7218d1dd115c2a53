"""EnvironmentCredential: a service principal (or, deprecated, a user) configured by AZURE_* variables.

The variables are read once, at construction, from ``os.environ`` (or the private ``_env``
mapping tests inject). Three configurations, tried in this order, as azure-identity does:

==========================  ======================================================================
client secret               AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
certificate                 AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH
                            (+ AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_CLIENT_SEND_CERTIFICATE_CHAIN)
username and password       AZURE_CLIENT_ID, AZURE_USERNAME, AZURE_PASSWORD (+ AZURE_TENANT_ID)
==========================  ======================================================================

An incomplete configuration is not an error until a token is requested: then
``CredentialUnavailableError`` names the variables that are set and those that are missing
(names only, never values). A complete configuration holding an unusable value (an empty
secret, an unreadable certificate, a bad tenant) raises ``ValueError`` naming the variable at
construction; DefaultAzureCredential turns that into its member's "unavailable" line instead.

The token flow is the inner credential's own flow: this class only chooses and configures it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .. import log
from .._constants import EnvironmentVariables as Ev
from .._credential import AsyncCredential, CredentialBase, SyncCredential, TokenRequest, current_chain

if TYPE_CHECKING:
    from .._cache.memory import TokenCache
    from .._protocol.effects import Flow
    from .._token import Token

AZURE_ADDITIONALLY_ALLOWED_TENANTS = "AZURE_ADDITIONALLY_ALLOWED_TENANTS"

# Every variable this credential reads, in the order messages list them.
VARIABLES: tuple[str, ...] = (
    Ev.AZURE_TENANT_ID,
    Ev.AZURE_CLIENT_ID,
    Ev.AZURE_CLIENT_SECRET,
    Ev.AZURE_CLIENT_CERTIFICATE_PATH,
    Ev.AZURE_CLIENT_CERTIFICATE_PASSWORD,
    Ev.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN,
    Ev.AZURE_USERNAME,
    Ev.AZURE_PASSWORD,
    Ev.AZURE_AUTHORITY_HOST,
    AZURE_ADDITIONALLY_ALLOWED_TENANTS,
)

# configuration -> (what it is called in messages, required variables, variables only it uses)
CONFIGURATIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "secret": (
        "a client secret",
        (Ev.AZURE_TENANT_ID, Ev.AZURE_CLIENT_ID, Ev.AZURE_CLIENT_SECRET),
        (Ev.AZURE_CLIENT_SECRET,),
    ),
    "certificate": (
        "a certificate",
        (Ev.AZURE_TENANT_ID, Ev.AZURE_CLIENT_ID, Ev.AZURE_CLIENT_CERTIFICATE_PATH),
        (
            Ev.AZURE_CLIENT_CERTIFICATE_PATH,
            Ev.AZURE_CLIENT_CERTIFICATE_PASSWORD,
            Ev.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN,
        ),
    ),
    "username": (
        "a username and password",
        (Ev.AZURE_CLIENT_ID, Ev.AZURE_USERNAME, Ev.AZURE_PASSWORD),
        (Ev.AZURE_USERNAME, Ev.AZURE_PASSWORD),
    ),
}

INCOMPLETE = "Missing or incomplete environment variable configuration"
USERNAME_DEPRECATION = (
    "Environment is configured to use username and password authentication. This authentication method is "
    "deprecated, as it doesn't support multifactor authentication (MFA). For more details, see "
    "https://aka.ms/azsdk/identity/mfa."
)
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"", "0", "false", "no", "off", "n", "f"})


def EnvironmentConfigurationError(variable: str | None, detail: str) -> ValueError:  # noqa: N802
    """The error for an unusable value (``_errors.EnvironmentConfigurationError``, imported when raised:
    azure-core must not load with this module)."""
    from .._errors import EnvironmentConfigurationError as Error

    return Error(variable, detail)


def parse_bool(variable: str, value: str | None) -> bool:
    """A boolean variable: "true"/"1"/"yes"/"on" or "false"/"0"/"no"/"off"/empty (case-insensitive)."""
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise EnvironmentConfigurationError(
        variable, f"{variable} must be a boolean such as 'true' or 'false' (its value is not one)"
    )


def split_tenants(value: str | None) -> list[str]:
    """AZURE_ADDITIONALLY_ALLOWED_TENANTS: tenants separated by ';' (as the Go SDK reads it)."""
    return [t.strip() for t in (value or "").split(";") if t.strip()]


def choose_configuration(env: Mapping[str, str]) -> str | None:
    """Which configuration the variables select; a variable counts as set when present, even empty."""
    for name, (_, required, _) in CONFIGURATIONS.items():
        if all(v in env for v in required):
            return name
    return None


def describe_incomplete(env: Mapping[str, str]) -> str:
    """The guide's row text, naming the variables set and those missing (names only)."""
    present = [v for v in VARIABLES if v in env]
    relevant = [v for v in present if v not in (Ev.AZURE_AUTHORITY_HOST, AZURE_ADDITIONALLY_ALLOWED_TENANTS)]
    if not relevant:
        needed = (
            Ev.AZURE_TENANT_ID,
            Ev.AZURE_CLIENT_ID,
            Ev.AZURE_CLIENT_SECRET,
            Ev.AZURE_CLIENT_CERTIFICATE_PATH,
            Ev.AZURE_USERNAME,
            Ev.AZURE_PASSWORD,
        )
        return f"{INCOMPLETE}: none of {', '.join(needed)} is set."
    started = [n for n, (_, _, own) in CONFIGURATIONS.items() if any(v in env for v in own)]
    options = []
    for name in started or list(CONFIGURATIONS):
        label, required, _ = CONFIGURATIONS[name]
        missing = [v for v in required if v not in env]
        options.append(f"{' and '.join(missing)} (for {label})")
    return f"{INCOMPLETE}. Set: {', '.join(present)}. Missing: {', or '.join(options)}."


class _Environment(CredentialBase):
    _repr_fields: ClassVar[tuple[str, ...]] = ("credential",)
    _credential: Any

    def __init__(self, **kwargs: Any) -> None:
        chain = current_chain()  # DefaultAzureCredential builds its members as the current chain
        within_dac = chain is not None and chain.default
        env: Mapping[str, str] | None = kwargs.pop("_env", None)  # test seam
        if env is None:
            env = chain.env if chain is not None and chain.env is not None else os.environ
        authority = kwargs.pop("authority", None)
        allowed = kwargs.pop("additionally_allowed_tenants", None)
        if allowed is None:
            allowed = split_tenants(env.get(AZURE_ADDITIONALLY_ALLOWED_TENANTS))
        clock, sleep = kwargs.get("_clock"), kwargs.get("_sleep")
        self._configuration = choose_configuration(env)
        self._incomplete = describe_incomplete(env) if self._configuration is None else ""
        self._credential = None
        if self._configuration is not None:
            inner_kwargs = dict(kwargs)
            inner_kwargs.update(_clock=clock, _sleep=sleep, additionally_allowed_tenants=allowed)
            self._credential = self._build(self._configuration, env, authority, inner_kwargs)
            log.emit(
                log.EVENT_AUTHENTICATION,
                logging.INFO,
                "EnvironmentCredential will authenticate with %s",
                self._credential._name,
            )
        else:
            level = logging.DEBUG if within_dac else logging.INFO
            if any(v in env for v in VARIABLES[:8]) and not within_dac:
                level = logging.WARNING
            log.emit(log.EVENT_AUTHENTICATION, level, "EnvironmentCredential: %s", self._incomplete)
        kwargs.pop("cache_persistence_options", None)  # the inner credential owns the (persistent) cache
        self._init_base(kwargs)

    # -- choosing and building the inner credential ---------------------------------------------------
    def _build(
        self, configuration: str, env: Mapping[str, str], authority: str | None, kwargs: dict[str, Any]
    ) -> Any:
        from .._authority import normalize_authority, validate_tenant_id

        _, required, _ = CONFIGURATIONS[configuration]
        for variable in required:
            if not env[variable].strip():
                raise EnvironmentConfigurationError(variable, f"{variable} is set but empty")
        tenant = env.get(Ev.AZURE_TENANT_ID) or None
        if tenant is not None:
            try:
                validate_tenant_id(tenant.strip())
            except ValueError as error:
                raise EnvironmentConfigurationError(
                    Ev.AZURE_TENANT_ID, f"{Ev.AZURE_TENANT_ID}: {error}"
                ) from None
            tenant = tenant.strip()
        try:
            kwargs["authority"] = normalize_authority(authority, env)
        except ValueError as error:
            source = None if authority else Ev.AZURE_AUTHORITY_HOST
            raise EnvironmentConfigurationError(source, f"{source or 'authority'}: {error}") from None
        client_id = env[Ev.AZURE_CLIENT_ID].strip()
        is_async = isinstance(self, AsyncCredential)
        if configuration == "secret":
            from .client_secret import AsyncClientSecretCredential, ClientSecretCredential

            cls: Any = AsyncClientSecretCredential if is_async else ClientSecretCredential
            return cls(tenant, client_id, env[Ev.AZURE_CLIENT_SECRET], **kwargs)
        if configuration == "certificate":
            return self._certificate(env, tenant, client_id, kwargs, is_async)
        warnings.warn(USERNAME_DEPRECATION, DeprecationWarning, stacklevel=4)
        from .username_password import AsyncUsernamePasswordCredential, UsernamePasswordCredential

        cls = AsyncUsernamePasswordCredential if is_async else UsernamePasswordCredential
        return cls._without_warning(  # warned once above, in our words
            client_id, env[Ev.AZURE_USERNAME], env[Ev.AZURE_PASSWORD], tenant_id=tenant, **kwargs
        )

    def _certificate(
        self,
        env: Mapping[str, str],
        tenant: str | None,
        client_id: str,
        kwargs: dict[str, Any],
        is_async: bool,
    ) -> Any:
        from .certificate import AsyncCertificateCredential, CertificateCredential

        path = env[Ev.AZURE_CLIENT_CERTIFICATE_PATH]
        password = env.get(Ev.AZURE_CLIENT_CERTIFICATE_PASSWORD) or None
        send_chain = parse_bool(
            Ev.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, env.get(Ev.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN)
        )
        cls: Any = AsyncCertificateCredential if is_async else CertificateCredential
        try:
            return cls(
                tenant, client_id, path, password=password, send_certificate_chain=send_chain, **kwargs
            )
        except ValueError as error:
            text = getattr(error, "detail", None) or str(error)
            variable = Ev.AZURE_CLIENT_CERTIFICATE_PATH
            lowered = text.lower()
            if "password" in lowered and ("wrong" in lowered or "is encrypted; pass its password" in lowered):
                variable = Ev.AZURE_CLIENT_CERTIFICATE_PASSWORD
            raise EnvironmentConfigurationError(variable, f"{variable}: {text}") from None

    # -- the flow is the inner credential's ---------------------------------------------------------
    def _unavailable(self) -> Exception:
        from .._errors import CredentialUnavailableError

        return CredentialUnavailableError(
            self._incomplete, credential=self._name, mitigation_key="env-incomplete"
        )

    @property
    def _stable_keys(self) -> bool:  # type: ignore[override]
        # The inner credential's keys: a user credential's change with the signed-in account.
        return bool(getattr(self._credential, "_stable_keys", True))

    def _new_cache(self) -> TokenCache:
        # Share the inner credential's cache: it is the persistent one when persistence was asked for.
        inner = getattr(self, "_credential", None)
        return inner._cache if inner is not None else super()._new_cache()

    def _validate(self, request: TokenRequest) -> None:
        if self._credential is not None:
            self._credential._validate(request)

    def _cache_key(self, request: TokenRequest) -> Hashable:
        if self._credential is not None:
            return self._credential._cache_key(request)  # type: ignore[no-any-return]
        return super()._cache_key(request)

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        if self._credential is None:
            raise self._unavailable()
        token: Token = yield from self._credential._flow(request)
        return token

    @property
    def configuration(self) -> str | None:
        """``"secret"``, ``"certificate"``, ``"username"``, or ``None`` when not configured."""
        return self._configuration


class EnvironmentCredential(_Environment, SyncCredential):
    """Authenticates a service principal (or a user) configured by environment variables.

    Client secret: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET. Certificate: AZURE_TENANT_ID,
    AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH, optionally AZURE_CLIENT_CERTIFICATE_PASSWORD and
    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN (a boolean: "false" and "0" mean false). Username and password
    (deprecated): AZURE_CLIENT_ID, AZURE_USERNAME, AZURE_PASSWORD, optionally AZURE_TENANT_ID.
    AZURE_AUTHORITY_HOST selects the cloud; AZURE_ADDITIONALLY_ALLOWED_TENANTS (';'-separated) allows
    more tenants unless ``additionally_allowed_tenants`` is given.

    :keyword str authority: authority of a Microsoft Entra endpoint (overrides AZURE_AUTHORITY_HOST).
    :keyword list[str] additionally_allowed_tenants: tenants besides AZURE_TENANT_ID; "*" allows any.

    Other keyword arguments (azure-core pipeline options) are passed to the inner credential.
    """


class AsyncEnvironmentCredential(_Environment, AsyncCredential):
    __doc__ = EnvironmentCredential.__doc__
