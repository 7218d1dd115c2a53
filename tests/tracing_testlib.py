"""The real OpenTelemetry SDK for the tracing tests: one tracer provider per process, spans in memory.

``tracing`` (a fixture, parametrized) turns azure-core's tracing on the two ways users do -- its native
tracer (``settings.tracing_enabled = True``) and the azure-core-tracing-opentelemetry plugin
(``settings.tracing_implementation = "opentelemetry"``) -- and turns it off again after the test. Every
span that ends anywhere in the process is also handed to the secret canary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import canary

MODES = ("native", "plugin")
_exporter = InMemorySpanExporter()
_installed = False
_lock = threading.Lock()


class _Canary(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        canary.check_span(span)


def install() -> None:
    """The process's tracer provider (OpenTelemetry allows one): in-memory export plus the canary."""
    global _installed
    with _lock:
        if _installed:
            return
        provider = TracerProvider()
        provider.add_span_processor(_Canary())
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
        _installed = True


def app_tracer() -> Any:
    """A tracer for the test's own spans (the application around the credential)."""
    return trace.get_tracer("azidentity-tests")


class Spans:
    """The spans that ended during one test."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def all(self) -> list[ReadableSpan]:
        return list(_exporter.get_finished_spans())

    def clear(self) -> None:
        _exporter.clear()

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return [s.name for s in self.all]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """Its child spans, in start order."""
        kids = [s for s in self.all if s.parent is not None and s.parent.span_id == parent.context.span_id]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def roots(self) -> list[ReadableSpan]:
        ids = {s.context.span_id for s in self.all}
        return sorted(
            (s for s in self.all if s.parent is None or s.parent.span_id not in ids),
            key=lambda s: s.start_time or 0,
        )

    def tree(self, span: ReadableSpan | None = None) -> Any:
        """``(name, [children...])`` from ``span`` down; without ``span``, the list of root trees."""
        if span is None:
            return [self.tree(root) for root in self.roots()]
        return (span.name, [self.tree(child) for child in self.children(span)])


@pytest.fixture(params=MODES)
def tracing(request: pytest.FixtureRequest) -> Iterator[Spans]:
    from azure.core.settings import settings

    install()
    _exporter.clear()
    if request.param == "plugin":
        settings.tracing_implementation = "opentelemetry"
    settings.tracing_enabled = True
    try:
        yield Spans(request.param)
    finally:
        settings.tracing_enabled.unset_value()
        settings.tracing_implementation.unset_value()
        _exporter.clear()


def assert_credential_span(span: ReadableSpan, name: str, outcome: str) -> None:
    """What every credential (or chain, or member) span has."""
    assert span.kind is SpanKind.INTERNAL, span.kind
    attributes = dict(span.attributes or {})
    assert attributes["azidentity.credential"] == name.split(".")[0], attributes
    assert attributes["azidentity.outcome"] == outcome, attributes
    if outcome == "token":
        assert span.status.status_code is StatusCode.UNSET, span.status
        assert "error.type" not in attributes
    else:
        assert span.status.status_code is StatusCode.ERROR, span.status
        exceptions = [e for e in span.events if e.name == "exception"]
        assert len(exceptions) == 1, span.events
        assert exceptions[0].attributes["exception.message"]
        assert attributes["error.type"] in (
            "azidentity.CredentialUnavailableError",
            "azidentity.AuthenticationFailedError",
        ) or attributes["error.type"].endswith("Error"), attributes


def http_spans(spans: Spans, parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans.children(parent) if s.kind is SpanKind.CLIENT]


def url(span: ReadableSpan) -> str:
    """The URL azure-core recorded on an HTTP span (attribute name differs between native and plugin)."""
    attributes = dict(span.attributes or {})
    return str(attributes.get("url.full") or attributes.get("http.url"))
