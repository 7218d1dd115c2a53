"""HTTP: azure-core pipelines, the default sync transport, Service Fabric's pinned transport."""
