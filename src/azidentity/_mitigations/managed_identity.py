"""Mitigation rows: Managed identity, per host."""

from .table import _row

# --- Managed identity -------------------------------------------------------------------------
_MI_VM = "Managed identity: Azure Virtual Machines and Scale Sets (IMDS)"
_row(
    "mi-imds-identity-not-assigned",
    _MI_VM,
    "The requested identity hasn't been assigned to this resource.",
    "IMDS answered 400: the identity asked for is not assigned to this VM.",
    "For a user-assigned identity, check the client, object or resource ID and that the identity is assigned "
    "to the VM; for the system-assigned identity, enable it on the VM.",
)
_row(
    "mi-imds-gateway",
    _MI_VM,
    "The request failed due to a gateway error.",
    "The request to IMDS failed with 502 or 504: a proxy or gateway stood between the program and IMDS.",
    "IMDS does not work through proxies or gateways. Exclude 169.254.169.254 from proxying (NO_PROXY).",
)
_row(
    "mi-no-response",
    _MI_VM,
    "No response received from the managed identity endpoint.",
    "The managed identity endpoint did not answer, or did not answer in time.",
    "Check that the host has a managed identity configured, and that its endpoint is reachable from the "
    'program (for IMDS: curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?'
    'api-version=2018-02-01&resource=https://management.azure.com").',
)
_row(
    "mi-retries-exhausted",
    _MI_VM,
    "Multiple attempts failed to obtain a token from the managed identity endpoint.",
    "The endpoint kept failing until the credential's retries, or its total time budget (timeout, 30 s by "
    "default), ran out.",
    "Read the last response shown in the message; "
    "check the identity configuration and the endpoint's health. "
    "Raise retry_total, timeout (the total budget) or the connect and read timeouts "
    "if the host is slow to start.",
)
_row(
    "mi-not-imds",
    _MI_VM,
    "The endpoint that answered is not IMDS.",
    "Something other than IMDS answered at its address: for example Docker Desktop's proxy (403 "
    '"unreachable"), an HTML page from a proxy, or a non-JSON body.',
    "This machine has no managed identity: use another credential here, or exclude 169.254.169.254 from "
    "proxying if this is an Azure host.",
)
_row(
    "mi-bad-response",
    "ManagedIdentityCredential",
    "Unexpected response from the managed identity endpoint",
    "The endpoint answered, but not with a token this credential can read.",
    "Check the environment variables that point at the endpoint; the response is shown above.",
)
_row(
    "mi-unsupported-identity",
    "ManagedIdentityCredential",
    "This host does not support the requested kind of user-assigned identity",
    "A client, object or resource ID was given on a host that cannot select identities that way.",
    "Remove the ID to use the host's identity, or use an ID kind that the host supports (see the message).",
)
_row(
    "mi-app-service-not-enabled",
    "Managed identity: Azure App Service and Azure Functions",
    "Managed identity is not enabled for this app",
    "The App Service host did not set IDENTITY_ENDPOINT and IDENTITY_HEADER, which it does only when the app "
    "has a managed identity.",
    "Enable a system-assigned identity, or assign a user-assigned identity, on the app (Identity blade), "
    "then restart it and check that IDENTITY_ENDPOINT is set.",
)
_row(
    "mi-app-service-error",
    "Managed identity: Azure App Service and Azure Functions",
    "The App Service identity endpoint refused the request",
    "The endpoint rejected the secret header or the requested identity.",
    "Check that the requested identity is assigned to the app; "
    "restart the app if IDENTITY_HEADER was rotated.",
)
_row(
    "mi-aks-pod-identity",
    "Managed identity: Azure Kubernetes Service",
    "no azure identity found for request clientID",
    "The application asked for a token before an identity was assigned to its pod.",
    "Check the pod's labels. If they are right, the identity was not ready yet: configure NMI to send "
    "Retry-After so that the credential waits.",
)
_row(
    "mi-arc-key-file",
    "Managed identity: Azure Arc",
    "The Azure Arc key file challenge is invalid",
    "The agent named a key file outside its token directory, without the .key extension, larger than 4096 "
    "bytes, or unreadable.",
    "Run the program as a user in the himds group (Linux) or as an administrator (Windows); check the Azure "
    "Connected Machine agent's health with azcmagent show.",
)
_row(
    "mi-arc-user-assigned",
    "Managed identity: Azure Arc",
    "Azure Arc did not confirm the requested user-assigned managed identity",
    "The agent returned a token without echoing the requested identity: "
    "it likely issued the system-assigned identity.",
    "Upgrade the Azure Connected Machine agent, or request the system-assigned identity.",
)
_row(
    "mi-service-fabric-identity",
    "Managed identity: Azure Service Fabric",
    "Service Fabric does not accept a user-assigned identity argument",
    "The identity is chosen by the cluster's application configuration, not by the caller.",
    "Remove client_id and identity_config; configure the identity on the Service Fabric application.",
)
_row(
    "mi-service-fabric-thumbprint",
    "Managed identity: Azure Service Fabric",
    "The Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT",
    "The TLS certificate presented by the endpoint is not the one the cluster announced.",
    "Check IDENTITY_SERVER_THUMBPRINT; a mismatch can mean traffic is being intercepted.",
)
_row(
    "mi-cloud-shell-identity",
    "Managed identity: Azure Cloud Shell",
    "client_id should not be set for cloud shell managed identity.",
    "Cloud Shell provides only the signed-in user's identity; a client_id, or an identity_config naming an "
    "identity, raises ValueError (inside DefaultAzureCredential it is ignored, as azure-identity does).",
    "Remove client_id and identity_config when running in Cloud Shell.",
)
_row(
    "mi-blank-identity",
    "ManagedIdentityCredential",
    "The requested identity's ID is blank",
    "client_id or identity_config holds only whitespace (often an environment variable set to spaces), which "
    "names no identity.",
    "Set the user-assigned identity's client, object or resource ID; "
    "or omit it (an empty string does too) to use the system-assigned identity.",
)
_row(
    "mi-incomplete-environment",
    "ManagedIdentityCredential",
    "No managed identity endpoint found",
    "IDENTITY_ENDPOINT is set without IDENTITY_HEADER (App Service, Service Fabric) "
    "or IMDS_ENDPOINT (Azure Arc), so the host cannot be determined.",
    "On an Azure host, enable managed identity for the resource and restart it; elsewhere, unset "
    "IDENTITY_ENDPOINT or use another credential.",
)
_row(
    "mi-redirect",
    "ManagedIdentityCredential",
    "The managed identity endpoint answered with a redirect",
    "Managed identity endpoints never redirect; "
    "the request carries the host's secret, so it is not sent anywhere else.",
    "Check IDENTITY_ENDPOINT / MSI_ENDPOINT: they must name the host's token endpoint itself.",
)
