"""One module per credential: configuration and flow, with its sync and async classes."""
