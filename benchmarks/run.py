"""Side-by-side benchmarks: azidentity vs azure-identity, same machine, same emulator, one run.

    python benchmarks/run.py            # full run, writes benchmarks/results/latest.{md,json}
    python benchmarks/run.py --quick    # a few iterations of each, for CI (times are not asserted)

Every metric is measured for both libraries in the same process run (fresh subprocesses for
import and first-token costs) and reported as medians with the ratio azidentity / azure-identity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).parent
SCOPE = "https://storage.azure.com/.default"
LIBS = {"azidentity": "azidentity", "azure-identity": "azure.identity"}
RESULTS: list[dict[str, Any]] = []


def record(name: str, unit: str, ours: float, theirs: float, target: str = "", note: str = "") -> None:
    ratio = ours / theirs if theirs else float("nan")
    RESULTS.append({"metric": name, "unit": unit, "azidentity": ours, "azure-identity": theirs,
                    "ratio": ratio, "target": target, "note": note})
    print(f"{name:<58} {ours:>12.4g} {theirs:>12.4g} {unit:<6} ratio {ratio:6.3f} {target}", flush=True)


def subprocess_median(code: str, runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(code_for: Callable[[str], str], runs: int, env: dict[str, str] | None = None) -> dict[str, float]:
    """Alternate the libraries run by run so machine noise hits both alike."""
    samples: dict[str, list[float]] = {lib: [] for lib in LIBS}
    for _ in range(runs):
        for lib, module in LIBS.items():
            samples[lib].append(subprocess_median(code_for(module), 1, env))
    return {lib: statistics.median(v) for lib, v in samples.items()}


def bench_import(runs: int) -> None:
    result = interleaved(lambda m: f"import {m}; {m}.ClientSecretCredential", runs)
    record("import + ClientSecretCredential (fresh process)", "s", result["azidentity"], result["azure-identity"], "<= 0.25")
    modules = {}
    for lib, module in LIBS.items():
        out = subprocess.run([sys.executable, "-c", f"import sys, {module}; {module}.DefaultAzureCredential;"
                              "print(len(sys.modules))"], capture_output=True, text=True, check=True, timeout=60)
        modules[lib] = float(out.stdout.strip())
    record("modules loaded by import + DefaultAzureCredential", "count", modules["azidentity"], modules["azure-identity"])


def credentials(emu: Any) -> dict[str, Any]:
    import azure.identity

    import azidentity

    app = emu.apps["secret"]
    common = {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "azidentity": lambda: azidentity.ClientSecretCredential(emu.tenant_id, app.client_id, app.secret, **common),
            "azure-identity": lambda: azure.identity.ClientSecretCredential(
                emu.tenant_id, app.client_id, app.secret, disable_instance_discovery=True, **common),
        }


def async_credentials(emu: Any) -> dict[str, Any]:
    import azure.identity.aio

    import azidentity.aio

    app = emu.apps["secret"]
    common = {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path}
    return {
        "azidentity": lambda: azidentity.aio.ClientSecretCredential(emu.tenant_id, app.client_id, app.secret, **common),
        "azure-identity": lambda: azure.identity.aio.ClientSecretCredential(
            emu.tenant_id, app.client_id, app.secret, **common),
    }


def per_call(fn: Callable[[], Any], calls: int, repeats: int = 5) -> float:
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best.append((time.perf_counter() - start) / calls)
    return statistics.median(best)


def bench_cache_hit(emu: Any, calls: int) -> None:
    makers = credentials(emu)
    for method in ("get_token", "get_token_info"):
        result = {}
        for lib, make in makers.items():
            credential = make()
            call = getattr(credential, method)
            call(SCOPE)
            result[lib] = per_call(lambda call=call: call(SCOPE), calls)
            credential.close()
        record(f"cache-hit {method} (sync)", "us", result["azidentity"] * 1e6, result["azure-identity"] * 1e6, "<= 0.10")

    async def run_async() -> None:
        for method in ("get_token", "get_token_info"):
            result = {}
            for lib, make in async_credentials(emu).items():
                credential = make()
                call = getattr(credential, method)
                await call(SCOPE)
                samples = []
                for _ in range(5):
                    start = time.perf_counter()
                    for _ in range(calls):
                        await call(SCOPE)
                    samples.append((time.perf_counter() - start) / calls)
                result[lib] = statistics.median(samples)
                await credential.close()
            record(f"cache-hit {method} (async)", "us", result["azidentity"] * 1e6, result["azure-identity"] * 1e6,
                   "<= 0.20")

    asyncio.run(run_async())


def bench_cold(emu: Any, runs: int) -> None:
    makers = credentials(emu)
    result: dict[str, list[float]] = {lib: [] for lib in makers}
    for _ in range(runs):
        for lib, make in makers.items():
            credential = make()
            start = time.perf_counter()
            credential.get_token(SCOPE)
            result[lib].append(time.perf_counter() - start)
            credential.close()
    record("cold token acquisition, client secret (sync)", "ms", statistics.median(result["azidentity"]) * 1e3,
           statistics.median(result["azure-identity"]) * 1e3, "<= 1.0", "new credential per token; includes TLS connect")


def bench_first_token_process(emu: Any, runs: int) -> None:
    app = emu.apps["secret"]
    env = dict(os.environ)
    env.update({"BENCH_TENANT": emu.tenant_id, "BENCH_CLIENT": app.client_id, "BENCH_SECRET": app.secret,
                "BENCH_AUTHORITY": emu.base_url, "BENCH_CA": emu.ca_bundle_path})

    def code(module: str) -> str:
        extra = ", disable_instance_discovery=True" if module == "azure.identity" else ""
        return (
            f"import os, {module} as m; e = os.environ; "
            f"c = m.ClientSecretCredential(e['BENCH_TENANT'], e['BENCH_CLIENT'], e['BENCH_SECRET'], "
            f"authority=e['BENCH_AUTHORITY'], connection_verify=e['BENCH_CA']{extra}); c.get_token({SCOPE!r})"
        )

    result = interleaved(code, runs, env)
    record("fresh process: import, build, first token", "s", result["azidentity"], result["azure-identity"], "<= 0.60")


def write(path: pathlib.Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    import azure.identity

    import azidentity

    meta = {"machine": machine, "azidentity": azidentity.__version__, "azure-identity": azure.identity.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (path / "latest.json").write_text(json.dumps({"meta": meta, "results": RESULTS}, indent=2))
    lines = [f"Machine: {machine}; azidentity {meta['azidentity']} vs azure-identity {meta['azure-identity']}; "
             f"{meta['date']}", "", "| metric | azidentity | azure-identity | unit | ratio | target |",
             "| --- | ---: | ---: | --- | ---: | --- |"]
    for r in RESULTS:
        lines.append(f"| {r['metric']} | {r['azidentity']:.4g} | {r['azure-identity']:.4g} | {r['unit']} | "
                     f"{r['ratio']:.3f} | {r['target']} |")
    (path / "latest.md").write_text("\n".join(lines) + "\n")
    print(f"\nwrote {path / 'latest.md'} and {path / 'latest.json'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few iterations (CI smoke run); times not meaningful")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    runs, calls = (2, 200) if args.quick else (15, 20000)

    from azidentity.emulator import Emulator

    print(f"{'metric':<58} {'azidentity':>12} {'azure-id':>12}")
    bench_import(runs)
    with Emulator() as emu:
        bench_cache_hit(emu, calls)
        bench_cold(emu, runs * 2)
        bench_first_token_process(emu, runs)
    write(pathlib.Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
