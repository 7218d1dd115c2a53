"""Managed identity endpoints, sans-IO: hosts, requests, responses, retries."""
