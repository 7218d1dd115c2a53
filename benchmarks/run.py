"""Side-by-side benchmarks: azidentity vs azure-identity, same machine, same emulator, one run.

    python benchmarks/run.py            # full run (a few minutes): benchmarks/results/latest.{md,json,png}
    python benchmarks/run.py --quick    # tiny counts, for CI: proves the suite runs; times mean nothing

Both libraries run in the same environment against the same emulator (started here, on 127.0.0.1).
Measurements that depend on process state (imports, memory, caches, the first token) run in fresh
processes (benchmarks/workers.py), one library per process, alternating libraries round by round so
machine noise hits both alike. Reported: medians, and the ratio azidentity / azure-identity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
WORKERS = HERE / "workers.py"
LIBS = {"azidentity": "azidentity", "azure-identity": "azure.identity"}
STORAGE = "https://storage.azure.com/.default"
# Variables that would steer a credential in a worker: the benchmark sets what each case needs.
STEERING = (
    "AZURE_",
    "IDENTITY_",
    "MSI_",
    "IMDS_",
    "AZURESUBSCRIPTION_",
    "SYSTEM_OIDC",
    "WEBSITE_",
    "FUNCTIONS_",
)


@dataclass(frozen=True)
class Settings:
    import_runs: int
    cache_budget: float  # seconds per timed batch of cache hits
    cache_repeats: int
    cache_rounds: int
    cold_rounds: int
    cold_runs: int  # acquisitions per kind per worker
    burst: int
    burst_trials: int
    burst_delay: float  # the emulator holds each token response this long, so callers overlap
    dac_rounds: int
    memory_count: int
    memory_rounds: int
    throughput_seconds: float
    throughput_rounds: int
    first_token_runs: int


FULL = Settings(
    import_runs=15,
    cache_budget=0.3,
    cache_repeats=7,
    cache_rounds=3,
    cold_rounds=4,
    cold_runs=10,
    burst=64,
    burst_trials=5,
    burst_delay=0.2,
    dac_rounds=5,
    memory_count=10_000,
    memory_rounds=3,
    throughput_seconds=3.0,
    throughput_rounds=2,
    first_token_runs=9,
)
QUICK = Settings(
    import_runs=1,
    cache_budget=0.004,
    cache_repeats=3,
    cache_rounds=1,
    cold_rounds=1,
    cold_runs=1,
    burst=64,
    burst_trials=1,
    burst_delay=0.05,
    dac_rounds=1,
    memory_count=500,
    memory_rounds=1,
    throughput_seconds=0.3,
    throughput_rounds=1,
    first_token_runs=1,
)


@dataclass
class Result:
    metric: str
    unit: str
    azidentity: float
    azure_identity: float
    target: str = ""  # e.g. "<= 0.25" on the ratio, "== 1" on azidentity's value
    note: str = ""
    ratio: float = field(init=False)
    met: bool | None = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.azidentity / self.azure_identity if self.azure_identity else float("nan")
        self.met = _meets(self.target, self.ratio, self.azidentity)


def _meets(target: str, ratio: float, ours: float) -> bool | None:
    if not target:
        return None
    met = True
    for clause in target.split(" and "):
        words = clause.split()
        if words[0] == "ours":  # an absolute bound on azidentity's value: "ours < 1.5"
            value, (op, bound) = ours, words[1:3]
        else:
            value, (op, bound) = ratio, words[:2]
        limit = float(bound)
        met = (
            met and {"<=": value <= limit, "<": value < limit, "==": value == limit, ">=": value >= limit}[op]
        )
    return met


RESULTS: list[Result] = []


def record(metric: str, unit: str, ours: float, theirs: float, target: str = "", note: str = "") -> None:
    result = Result(metric, unit, ours, theirs, target, note)
    RESULTS.append(result)
    mark = {True: "ok", False: "MISSED", None: ""}[result.met]
    print(
        f"  {metric:<56} {ours:>11.4g} {theirs:>11.4g} {unit:<8} ratio {result.ratio:7.3f}  {target} {mark}",
        flush=True,
    )


# --- running workers ------------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STEERING)}
    env.update(extra)
    return env


def worker(task: str, args: dict[str, Any], env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    out = subprocess.run(
        [sys.executable, str(WORKERS), task, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"worker {task} {args.get('lib')} failed ({out.returncode}):\n{out.stderr[-3000:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def alternate(rounds: int, run: Any) -> dict[str, list[Any]]:
    """run(lib) for each library, alternating, ``rounds`` times."""
    samples: dict[str, list[Any]] = {lib: [] for lib in LIBS}
    for i in range(rounds):
        for lib in LIBS if i % 2 == 0 else reversed(list(LIBS)):
            samples[lib].append(run(lib))
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the emulator's coordinates, as workers need them ----------------------------------------------


def coordinates(emu: Any) -> dict[str, Any]:
    secret, cert = emu.apps["secret"], emu.apps["cert"]
    return {
        "tenant": emu.tenant_id,
        "authority": emu.base_url,
        "ca": emu.ca_bundle_path,
        "client_id": secret.client_id,
        "secret": secret.secret,
        "secret_app": {"client_id": secret.client_id, "secret": secret.secret},
        "cert_app": {"client_id": cert.client_id, "pem": cert.cert_pem_path},
    }


def route_counts(emu: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in emu.requests:
        counts[request.route] = counts.get(request.route, 0) + 1
    return counts


# --- benchmarks -----------------------------------------------------------------------------------


def bench_import(s: Settings) -> None:
    print("import (fresh process per sample)")
    for attr in ("DefaultAzureCredential", "ClientSecretCredential"):

        def run(lib: str, attr: str = attr) -> tuple[float, int]:
            module = LIBS[lib]
            code = (
                f"import time; t = time.perf_counter(); import {module}; {module}.{attr}; "
                "t = time.perf_counter() - t; import sys; print(t, len(sys.modules))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
                env=clean_env(),
            )
            seconds, modules = out.stdout.split()
            return float(seconds), int(modules)

        samples = alternate(s.import_runs, run)
        ms = {lib: median([t for t, _ in v]) * 1e3 for lib, v in samples.items()}
        modules = {lib: median([float(n) for _, n in v]) for lib, v in samples.items()}
        record(
            f"import X; X.{attr}",
            "ms",
            ms["azidentity"],
            ms["azure-identity"],
            "<= 0.25",
            "measured inside a fresh interpreter (interpreter start-up excluded)",
        )
        record(
            f"modules loaded by import X; X.{attr}",
            "modules",
            modules["azidentity"],
            modules["azure-identity"],
        )


def bench_cache_hit(s: Settings, coords: dict[str, Any]) -> None:
    print("cache hit (fresh process per library)")
    args = {**coords, "scope": STORAGE, "budget": s.cache_budget, "repeats": s.cache_repeats}
    samples = alternate(s.cache_rounds, lambda lib: worker("cache_hit", {**args, "lib": lib})["per_call"])
    for name in ("get_token (sync)", "get_token_info (sync)", "get_token (async)", "get_token_info (async)"):
        us = {lib: median([sample[name] for sample in v]) * 1e6 for lib, v in samples.items()}
        record(
            f"cache-hit {name}",
            "us/call",
            us["azidentity"],
            us["azure-identity"],
            "<= 0.1",
            "ClientSecretCredential, token already cached",
        )


def bench_cold(s: Settings, emu: Any, coords: dict[str, Any]) -> None:
    print("cold acquisition (new credential, first token; fresh process per library and round)")
    app_service = emu.env("app-service")
    env = clean_env(
        IDENTITY_ENDPOINT=app_service["IDENTITY_ENDPOINT"], IDENTITY_HEADER=app_service["IDENTITY_HEADER"]
    )
    scopes = {"secret": STORAGE, "certificate": STORAGE, "managed identity": STORAGE}
    entra_requests: dict[str, list[float]] = {lib: [] for lib in LIBS}
    mi_requests: dict[str, list[float]] = {lib: [] for lib in LIBS}

    def run(lib: str) -> dict[str, list[float]]:
        emu.reset()
        result = worker("cold", {**coords, "lib": lib, "runs": s.cold_runs, "scopes": scopes}, env)
        acquisitions = s.cold_runs + 1  # per kind, warm-up included
        counts = route_counts(emu)
        mi = counts.pop("app-service", 0)
        entra_requests[lib].append(sum(counts.values()) / (2 * acquisitions))  # secret and certificate
        mi_requests[lib].append(mi / acquisitions)
        return dict(result["samples"])

    samples = alternate(s.cold_rounds, run)

    def per_token(requests: dict[str, list[float]]) -> str:
        return ", ".join(f"{lib} {median(v):.2g}" for lib, v in requests.items())

    entra_note = (
        f"new credential, first token, close: construction and TLS connect included; requests per token: "
        f"{per_token(entra_requests)} (azure-identity's MSAL also fetches the tenant's OpenID configuration)"
    )
    mi_note = f"new credential, first token, close; plain HTTP; requests per token: {per_token(mi_requests)}"
    for kind, label, note in (
        ("secret", "client secret", entra_note),
        ("certificate", "certificate", entra_note),
        ("managed identity", "managed identity (App Service endpoint)", mi_note),
    ):
        ms = {lib: median([t for sample in v for t in sample[kind]]) * 1e3 for lib, v in samples.items()}
        record(f"cold token, {label}", "ms", ms["azidentity"], ms["azure-identity"], "<= 1.0", note)


def bench_concurrent_cold(s: Settings, emu: Any, coords: dict[str, Any]) -> None:
    print(f"{s.burst} concurrent cold callers (one new credential, emulator answers after {s.burst_delay} s)")
    import azure.identity
    import azure.identity.aio

    import azidentity
    import azidentity.aio

    modules = {
        "azidentity": (azidentity, azidentity.aio),
        "azure-identity": (azure.identity, azure.identity.aio),
    }

    def make(lib: str, aio: bool) -> Any:
        module = modules[lib][1 if aio else 0]
        kwargs: dict[str, Any] = {"authority": coords["authority"], "connection_verify": coords["ca"]}
        if lib == "azure-identity":
            kwargs["disable_instance_discovery"] = True
        return module.ClientSecretCredential(
            coords["tenant"], coords["client_id"], coords["secret"], **kwargs
        )

    def threads(lib: str) -> tuple[int, int, float]:
        credential = make(lib, aio=False)
        barrier = threading.Barrier(s.burst)
        errors: list[BaseException] = []

        def call() -> None:
            barrier.wait()
            try:
                credential.get_token(STORAGE)
            except BaseException as error:  # counted below
                errors.append(error)

        pool = [threading.Thread(target=call) for _ in range(s.burst)]
        start = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(60)
        elapsed = time.perf_counter() - start
        credential.close()
        return len(errors), s.burst, elapsed

    async def tasks_async(lib: str) -> tuple[int, int, float]:
        credential = make(lib, aio=True)
        start = time.perf_counter()
        results = await asyncio.gather(
            *(credential.get_token(STORAGE) for _ in range(s.burst)), return_exceptions=True
        )
        elapsed = time.perf_counter() - start
        await credential.close()
        return sum(isinstance(r, BaseException) for r in results), s.burst, elapsed

    for label, runner in (("threads", threads), ("asyncio tasks", lambda lib: asyncio.run(tasks_async(lib)))):
        token_requests: dict[str, list[int]] = {lib: [] for lib in LIBS}
        all_requests: dict[str, list[int]] = {lib: [] for lib in LIBS}
        seconds: dict[str, list[float]] = {lib: [] for lib in LIBS}
        for _ in range(s.burst_trials):
            for lib in LIBS:
                emu.reset()
                emu.faults.add("token", delay=s.burst_delay, times=None)
                failures, _, elapsed = runner(lib)
                emu.faults.clear()
                if failures:
                    raise RuntimeError(f"{lib}: {failures} of {s.burst} concurrent callers failed")
                counts = route_counts(emu)
                token_requests[lib].append(counts.get("token", 0))
                all_requests[lib].append(sum(counts.values()))
                seconds[lib].append(elapsed)
        ours, theirs = (
            median([float(n) for n in token_requests["azidentity"]]),
            median([float(n) for n in token_requests["azure-identity"]]),
        )
        note = (
            f"token requests per burst, min-max: azidentity {min(token_requests['azidentity'])}-"
            f"{max(token_requests['azidentity'])}, azure-identity {min(token_requests['azure-identity'])}-"
            f"{max(token_requests['azure-identity'])}; all requests: azidentity "
            f"{median([float(n) for n in all_requests['azidentity']]):.0f}, azure-identity "
            f"{median([float(n) for n in all_requests['azure-identity']]):.0f}"
        )
        record(
            f"{s.burst} concurrent cold callers ({label}): token requests",
            "requests",
            ours,
            theirs,
            "ours == 1",
            note,
        )
        record(
            f"{s.burst} concurrent cold callers ({label}): time to all served",
            "ms",
            median(seconds["azidentity"]) * 1e3,
            median(seconds["azure-identity"]) * 1e3,
            "",
            f"the emulator holds each token response {s.burst_delay * 1e3:.0f} ms",
        )


def bench_dac_failure(s: Settings) -> None:
    print("DefaultAzureCredential with nothing configured (fresh process per sample)")
    with socket.socket() as closed, tempfile.TemporaryDirectory(prefix="azidentity-bench-home-") as home:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused at once
        port = closed.getsockname()[1]
        env = {
            "PATH": os.path.dirname(sys.executable),
            "HOME": home,
            "LANG": "C.UTF-8",
            # never 169.254.169.254: both libraries' IMDS requests go to a closed loopback port
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{port}",
        }
        samples = alternate(s.dac_rounds, lambda lib: worker("dac_failure", {"lib": lib}, env, timeout=120))
    first = {lib: median([r["first"] for r in v]) for lib, v in samples.items()}
    again = {lib: median([r["again"] for r in v]) for lib, v in samples.items()}
    note = (
        "IMDS at a closed 127.0.0.1 port via AZURE_POD_IDENTITY_AUTHORITY_HOST; azure-identity skips its "
        "IMDS probe when that variable is set and sends the full request with retries, azidentity probes "
        "anyway; no az/azd/pwsh on PATH, empty HOME"
    )
    record(
        "DefaultAzureCredential, nothing configured: time to raise",
        "s",
        first["azidentity"],
        first["azure-identity"],
        "<= 1.0 and ours < 1.5",
        "first attempt in a fresh process (lazy imports included); " + note,
    )
    record(
        "DefaultAzureCredential, nothing configured: again, same process",
        "s",
        again["azidentity"],
        again["azure-identity"],
        "<= 1.0",
        "second attempt, new credential",
    )


def bench_memory(s: Settings, coords: dict[str, Any]) -> None:
    print(f"memory: {s.memory_count} ClientSecretCredential instances (tracemalloc, fresh process)")
    args = {
        "tenant": coords["tenant"],
        "client_id": coords["client_id"],
        "secret": coords["secret"],
        "count": s.memory_count,
    }
    samples = alternate(s.memory_rounds, lambda lib: worker("memory", {**args, "lib": lib})["bytes"])
    mib = {lib: median([float(b) for b in v]) / 2**20 for lib, v in samples.items()}
    record(
        f"memory for {s.memory_count} credentials",
        "MiB",
        mib["azidentity"],
        mib["azure-identity"],
        "<= 1.0",
        "constructed, no token yet",
    )


def bench_throughput(s: Settings, emu: Any, coords: dict[str, Any]) -> None:
    print(f"throughput: 16 threads, 50 scopes, {s.throughput_seconds} s (fresh process per library)")
    token_requests: dict[str, list[int]] = {lib: [] for lib in LIBS}

    def run(lib: str) -> float:
        emu.reset()
        result = worker(
            "throughput", {**coords, "lib": lib, "threads": 16, "scopes": 50, "seconds": s.throughput_seconds}
        )
        if result["errors"]:
            raise RuntimeError(f"{lib} throughput errors: {result['errors']}")
        token_requests[lib].append(route_counts(emu).get("token", 0))
        return float(result["calls"]) / float(result["seconds"])

    samples = alternate(s.throughput_rounds, run)
    rate = {lib: median(v) for lib, v in samples.items()}
    record(
        "throughput: get_token from 16 threads over 50 scopes",
        "us/call",
        1e6 / rate["azidentity"],
        1e6 / rate["azure-identity"],
        "",
        f"wall time / calls, so lower is better: {rate['azidentity']:,.0f} vs "
        f"{rate['azure-identity']:,.0f} calls/s; token requests: azidentity "
        f"{median([float(n) for n in token_requests['azidentity']]):.0f}, azure-identity "
        f"{median([float(n) for n in token_requests['azure-identity']]):.0f} (50 scopes)",
    )


def bench_first_token_process(s: Settings, coords: dict[str, Any]) -> None:
    print("fresh process: import, construct, first token")
    env = clean_env(BENCH_ARGS=json.dumps(coords))

    def run(lib: str) -> float:
        module = LIBS[lib]
        extra = ", disable_instance_discovery=True" if lib == "azure-identity" else ""
        code = (
            f"import json, os, time; t = time.perf_counter(); import {module} as m; "
            "a = json.loads(os.environ['BENCH_ARGS']); "
            "c = m.ClientSecretCredential(a['tenant'], a['client_id'], a['secret'], "
            f"authority=a['authority'], connection_verify=a['ca']{extra}); "
            f"c.get_token({STORAGE!r}); print(time.perf_counter() - t)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, env=env
        )
        return float(out.stdout.split()[-1])

    samples = alternate(s.first_token_runs, run)
    ms = {lib: median(v) * 1e3 for lib, v in samples.items()}
    record(
        "fresh process: import, construct, first token",
        "ms",
        ms["azidentity"],
        ms["azure-identity"],
        "<= 0.6",
        "what a short-lived script pays",
    )


# --- output ----------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}"
        if platform.system() == "Linux"
        else f"{cpu}, {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )


def _fmt(value: float) -> str:
    if value != value:  # nan
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown(meta: dict[str, str]) -> str:
    lines = [
        f"{meta['mode']} run, {meta['date']}: azidentity {meta['azidentity']} vs azure-identity "
        f"{meta['azure-identity']} (azure-core {meta['azure-core']}); {meta['machine']}.",
        "",
        "| metric | azidentity | azure-identity | unit | ratio | target | met |",
        "| --- | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for r in RESULTS:
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        target = r.target.replace("ours", "azidentity")
        lines.append(
            f"| {r.metric} | {_fmt(r.azidentity)} | {_fmt(r.azure_identity)} | {r.unit} | "
            f"{r.ratio:.3f} | {target} | {met} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- {r.metric}: {r.note}" for r in RESULTS if r.note]
    return "\n".join(lines) + "\n"


def write(out: pathlib.Path, quick: bool) -> None:
    import azure.core
    import azure.identity

    import azidentity

    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "mode": "quick" if quick else "full",
        "machine": machine(),
        "azidentity": azidentity.__version__,
        "azure-identity": azure.identity.__version__,
        "azure-core": azure.core.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (out / "latest.json").write_text(
        json.dumps({"meta": meta, "results": [asdict(r) for r in RESULTS]}, indent=2)
    )
    (out / "latest.md").write_text(markdown(meta))
    written = [out / "latest.md", out / "latest.json"]
    try:
        from chart import draw
    except ImportError as error:
        print(f"no chart: {error} (pip install matplotlib)")
    else:
        draw(RESULTS, out / "latest.png", f"azidentity / azure-identity ({meta['mode']} run, {meta['date']})")
        written.append(out / "latest.png")
    print("\nwrote " + ", ".join(str(p) for p in written))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny counts (CI smoke run); times are not meaningful"
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for latest.{md,json,png}")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    warnings.simplefilter("ignore")  # deprecation notices (UsernamePasswordCredential, ...) are not results
    started = time.perf_counter()

    from azidentity.emulator import Emulator

    print(f"  {'metric':<56} {'azidentity':>11} {'azure-id':>11}")
    bench_import(settings)
    with Emulator() as emu:
        coords = coordinates(emu)
        bench_cache_hit(settings, coords)
        bench_cold(settings, emu, coords)
        bench_concurrent_cold(settings, emu, coords)
        bench_memory(settings, coords)
        bench_throughput(settings, emu, coords)
        bench_first_token_process(settings, coords)
    bench_dac_failure(settings)
    write(pathlib.Path(args.out), args.quick)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
