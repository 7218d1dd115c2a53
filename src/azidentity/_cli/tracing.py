"""``azidentity token --trace``: record the call's spans with the OpenTelemetry SDK, print them as a tree.

The spans are the ones any application gets (azure-core's tracing, turned on here with
``settings.tracing_enabled``): the credential's, a chain's members, azure-core's HTTP spans, tool runs,
retry waits. Shown per span: what ran, how long it took, how it ended.
"""

from __future__ import annotations

import sys
from typing import Any

from .output import Printer

INSTALL_HINT = (
    "azidentity token --trace needs the OpenTelemetry SDK, which is not installed: "
    "pip install 'azidentity[trace]' (or: pip install opentelemetry-sdk)"
)
_OUTCOME_STYLE = {"token": "green", "unavailable": "yellow", "failed": "red"}


def start_recording() -> Recorder | None:
    """Record spans from now on; None (after printing how to install it) without the OpenTelemetry SDK."""
    try:
        return Recorder()
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return None


class Recorder:
    def __init__(self) -> None:
        from azure.core.settings import settings
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self._exporter = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        if not isinstance(
            provider, TracerProvider
        ):  # else: the application's (auto-instrumentation): join it
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        settings.tracing_enabled = True

    def spans(self) -> list[Any]:
        return sorted(self._exporter.get_finished_spans(), key=lambda s: s.start_time or 0)

    # -- text ------------------------------------------------------------------------------------------------
    def print_tree(self, out: Printer) -> None:
        spans = self.spans()
        if not spans:
            out.line("trace: no spans (the token came from a cache)")
            return
        out.line(f"trace ({len(spans)} spans):")
        ids = {s.context.span_id for s in spans}
        for root in [s for s in spans if s.parent is None or s.parent.span_id not in ids]:
            self._print(out, spans, root, "  ", "  ")

    def _print(self, out: Printer, spans: list[Any], span: Any, first: str, rest: str) -> None:
        out.line(first + self._label(out, span))
        children = [s for s in spans if s.parent is not None and s.parent.span_id == span.context.span_id]
        items: list[tuple[int, Any]] = [(s.start_time or 0, s) for s in children]
        items += [(e.timestamp, e) for e in span.events if e.name != "exception"]
        items.sort(key=lambda item: item[0])
        for index, (_, item) in enumerate(items):
            last = index == len(items) - 1
            head, tail = ("└─ ", "   ") if last else ("├─ ", "│  ")
            if hasattr(item, "context"):
                self._print(out, spans, item, rest + head, rest + tail)
            else:
                out.line(rest + head + out.paint(_event_label(item), "dim"))

    def _label(self, out: Printer, span: Any) -> str:
        attributes = dict(span.attributes or {})
        took = _duration(span)
        outcome = attributes.get("azidentity.outcome")
        if isinstance(outcome, str):
            text = out.paint(outcome, _OUTCOME_STYLE.get(outcome, ""))
            selected = attributes.get("azidentity.chain.selected")
            if selected:
                text += f" (from {selected})"
            message = _exception_message(span)
            credential = str(attributes.get("azidentity.credential"))
            message = message[len(credential) + 2 :] if message.startswith(credential + ": ") else message
            if message:
                text += f": {message}"
            return f"{out.paint(span.name, 'bold')}  {took}  {text}"
        if "process.executable.name" in attributes:
            ok = span.status.is_ok and not span.status.description
            status = "exit 0" if ok else (span.status.description or "failed").split(": ", 1)[-1]
            return f"{span.name}  {took}  {out.paint(status, 'green' if ok else 'red')}"
        method = attributes.get("http.request.method") or attributes.get("http.method")
        if method:
            url = str(attributes.get("url.full") or attributes.get("http.url") or "").split("?", 1)[0]
            code = attributes.get("http.response.status_code") or attributes.get("http.status_code")
            result = (
                str(code) if code else str(attributes.get("error.type") or "no response").rpartition(".")[2]
            )
            bad = not code or int(code) >= 400
            return f"{method} {url}  {took}  {out.paint(result, 'red' if bad else 'green')}"
        return f"{span.name}  {took}"

    # -- JSON ------------------------------------------------------------------------------------------------
    def as_json(self) -> list[dict[str, Any]]:
        spans = self.spans()
        origin = min((s.start_time or 0 for s in spans), default=0)
        return [
            {
                "name": s.name,
                "span_id": f"{s.context.span_id:016x}",
                "parent_id": f"{s.parent.span_id:016x}" if s.parent is not None else None,
                "start_ms": round(((s.start_time or 0) - origin) / 1e6, 3),
                "duration_ms": round(((s.end_time or 0) - (s.start_time or 0)) / 1e6, 3),
                "status": s.status.status_code.name.lower(),
                "description": s.status.description,
                "attributes": {k: _plain(v) for k, v in (s.attributes or {}).items()},
                "events": [
                    {
                        "name": e.name,
                        "at_ms": round((e.timestamp - origin) / 1e6, 3),
                        "attributes": {
                            k: _plain(v)
                            for k, v in (e.attributes or {}).items()
                            if k != "exception.stacktrace"
                        },
                    }
                    for e in s.events
                ],
            }
            for s in spans
        ]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _duration(span: Any) -> str:
    seconds = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def _event_label(event: Any) -> str:
    seconds = (event.attributes or {}).get("azidentity.wait.seconds")
    return f"waited {seconds:g} s" if isinstance(seconds, (int, float)) else event.name


def _exception_message(span: Any) -> str:
    for event in span.events:
        if event.name == "exception":
            text = str((event.attributes or {}).get("exception.message") or "").strip()
            line = text.splitlines()[0] if text else ""
            return line if len(line) <= 160 else line[:157] + "..."
    return ""
