"""HTTP: azure-core pipelines, the default sync and async transports, Service Fabric's pinned transport."""
