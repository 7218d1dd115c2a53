"""Mitigation rows: Entra ID error codes, tenants and the network."""

from .table import _row

# --- Entra ID codes: credential sections -------------------------------------------------------
_row(
    "AADSTS7000215",
    "ClientSecretCredential",
    "AADSTS7000215",
    "An invalid client secret was provided.",
    "Check that the credential is given the secret's value, not its ID. If unsure, create a new client "
    "secret for the app registration in the Azure portal and use its value.",
)
_row(
    "AADSTS7000222",
    "ClientSecretCredential",
    "AADSTS7000222",
    "The client secret has expired.",
    "Create a new client secret for the app registration in the Azure portal and configure the new value.",
)
_row(
    "AADSTS700016",
    "ClientSecretCredential",
    "AADSTS700016",
    "The application was not found in the tenant.",
    "Check the client ID and tenant ID given to the credential. A multi-tenant application must first be "
    "added to the tenant by one of its administrators.",
)
_row(
    "AADSTS700027",
    "ClientCertificateCredential",
    "AADSTS700027",
    "The client assertion has an invalid signature: Entra ID does not know the certificate that signed it.",
    "Upload the certificate (its public part) to the app registration, or configure the certificate that is "
    "already registered there; compare thumbprints.",
)
_row(
    "AADSTS700016-cert",
    "ClientCertificateCredential",
    "AADSTS700016",
    "The application was not found in the tenant.",
    "Check the client ID and tenant ID given to the credential. A multi-tenant application must first be "
    "added to the tenant by one of its administrators.",
)
_row(
    "AADSTS50126",
    "UsernamePasswordCredential",
    "AADSTS50126",
    "The username or password is invalid.",
    "Check the username and password given to the credential. Prefer a credential that supports "
    "multifactor authentication.",
)
_row(
    "AADSTS700024",
    "ClientAssertionCredential",
    "AADSTS700024",
    "The client assertion is not within its valid time range.",
    "Check the machine's clock, and make the assertion callback return a fresh assertion on every call.",
)

# --- Entra ID codes: general ------------------------------------------------------------------
_row(
    "AADSTS90002",
    "Microsoft Entra ID",
    "AADSTS90002",
    "The tenant was not found.",
    "Check the tenant ID, and that the authority host is the cloud the tenant lives in.",
)
_row(
    "AADSTS900023",
    "Microsoft Entra ID",
    "AADSTS900023",
    "The tenant identifier is neither a valid GUID nor a valid domain name.",
    "Use the tenant's ID (a GUID) or its primary domain name.",
)
_row(
    "AADSTS500011",
    "Microsoft Entra ID",
    "AADSTS500011",
    "The resource named by the scope was not found in the tenant: usually a wrong scope.",
    "Check the scope: for Azure services it is the resource URL followed by '/.default', for example "
    "'https://storage.azure.com/.default'.",
)
_row(
    "AADSTS50076",
    "Microsoft Entra ID",
    "AADSTS50076",
    "Multifactor authentication is required.",
    "Sign in interactively (InteractiveBrowserCredential, DeviceCodeCredential, or the developer tool's "
    "login command) so that MFA can be completed.",
)
_row(
    "AADSTS50079",
    "Microsoft Entra ID",
    "AADSTS50079",
    "The user must enroll in multifactor authentication.",
    "Sign in interactively once to complete MFA enrollment.",
)
_row(
    "AADSTS65001",
    "Microsoft Entra ID",
    "AADSTS65001",
    "The user or an administrator has not consented to the application.",
    "Grant consent to the application for the requested permissions (admin consent for app permissions).",
)
_row(
    "AADSTS53003",
    "Microsoft Entra ID",
    "AADSTS53003",
    "Access was blocked by a Conditional Access policy.",
    "Ask the tenant administrator which policy applies; sign in from a compliant device or location.",
)
_row(
    "AADSTS7000112",
    "Microsoft Entra ID",
    "AADSTS7000112",
    "The application is disabled.",
    "Enable the application's service principal in the tenant.",
)
_row(
    "AADSTS70021",
    "WorkloadIdentityCredential",
    "AADSTS70021",
    "No federated identity credential on the app registration matches the assertion's issuer, "
    "subject and audience.",
    "Compare the issuer, subject and audience shown in the message with the federated credential on the "
    "app registration or managed identity; they must match exactly (case-sensitive).",
)
_row(
    "AADSTS700213",
    "WorkloadIdentityCredential",
    "AADSTS700213",
    "No federated identity record matches the assertion's subject.",
    "Compare the subject (for Kubernetes: system:serviceaccount:<namespace>:<name>) "
    "with the federated credential.",
)
_row(
    "AADSTS700211",
    "WorkloadIdentityCredential",
    "AADSTS700211",
    "No federated identity record matches the assertion's issuer.",
    "Compare the issuer shown in the message with the federated credential's issuer (for AKS: the cluster's "
    "OIDC issuer URL, az aks show --query oidcIssuerProfile.issuerUrl).",
)
_row(
    "AADSTS700212",
    "WorkloadIdentityCredential",
    "AADSTS700212",
    "No federated identity record matches the assertion's audience.",
    "The federated credential's audience is normally api://AzureADTokenExchange; "
    "the projected token's audience must be the same.",
)
_row(
    "AADSTS70021-pipelines",
    "AzurePipelinesCredential",
    "AADSTS70021",
    "No federated identity credential matches the service connection's OIDC token.",
    "Compare the issuer and subject shown in the message (subject: sc://<organization>/<project>/<service "
    "connection>) with the federated credential of the service connection's identity.",
)
_row(
    "AADSTS700213-pipelines",
    "AzurePipelinesCredential",
    "AADSTS700213",
    "No federated identity record matches the OIDC token's subject.",
    "The subject is sc://<organization>/<project>/<service connection>: "
    "check that the service connection was not renamed or moved since its federated credential was created.",
)
_row(
    "AADSTS900023-pipelines",
    "AzurePipelinesCredential",
    "AADSTS900023: Specified tenant identifier is neither a valid DNS name, nor a valid external domain.",
    "The tenant_id given to AzurePipelinesCredential is wrong.",
    "Use the tenant of the service principal or user-assigned managed identity "
    "behind the service connection.",
)
_row(
    "entra-unexpected",
    "Microsoft Entra ID",
    "Unexpected response from Microsoft Entra ID",
    "Entra ID (or something answering in its place, such as a proxy) "
    "returned a response that is not a token.",
    "Check the authority host and any proxy between this machine and Entra ID; the response is shown above.",
)

# --- Tenants and configuration ----------------------------------------------------------------
_row(
    "tenant-not-allowed",
    "Microsoft Entra ID",
    "The credential is not configured to acquire tokens for the tenant",
    "A token was requested for a tenant other than the credential's own, and that tenant is not allowed.",
    "Add the tenant to additionally_allowed_tenants when creating the credential, "
    'or add "*" to allow any tenant.',
)

# --- Network ----------------------------------------------------------------------------------
_row(
    "network",
    "Network",
    "The service could not be reached",
    "The request got no HTTP response: the connection was refused, reset or timed out, or TLS failed.",
    "Check network access to the endpoint in the message, proxy settings (HTTPS_PROXY, NO_PROXY) and the "
    "trusted CA certificates (connection_verify, REQUESTS_CA_BUNDLE).",
)
_row(
    "transport-setting",
    "Network",
    "A transport setting can't work",
    "A setting the transport needs before it can send anything is unusable: connection_verify (or "
    "REQUESTS_CA_BUNDLE) names no file or directory of CA certificates, the client certificate can't be "
    "loaded, or the proxy's scheme is not supported. Nothing was sent.",
    "Fix the setting the message names: point connection_verify at a PEM file or a c_rehash'ed directory of "
    "CA certificates (or leave it True for the system store), and use an http:// or https:// proxy.",
)
