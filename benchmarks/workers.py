"""Measurements that need a fresh process: ``python benchmarks/workers.py TASK '<json arguments>'``.

Each task prints one JSON object on its last line of stdout. ``run.py`` starts these, one library per
process, and gives them the emulator's coordinates in the arguments (the emulator runs in run.py's
process, so the client under test never shares a GIL with the server).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

MODULES = {"azidentity": "azidentity", "azure-identity": "azure.identity"}


def _module(lib: str, aio: bool = False) -> Any:
    return importlib.import_module(MODULES[lib] + (".aio" if aio else ""))


def _entra_kwargs(lib: str, args: dict[str, Any]) -> dict[str, Any]:
    kwargs = {"authority": args["authority"], "connection_verify": args["ca"]}
    if lib == "azure-identity":
        kwargs["disable_instance_discovery"] = True  # the emulator is not a known cloud
    return kwargs


def _makers(lib: str, args: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    m = _module(lib)
    common = _entra_kwargs(lib, args)
    tenant = args["tenant"]
    secret, cert = args["secret_app"], args["cert_app"]

    def managed_identity() -> Any:
        if lib == "azidentity":
            from azidentity._credentials.managed_identity import _clear_shared_cache

            _clear_shared_cache()  # azidentity caches managed identity tokens per process: start cold
        return m.ManagedIdentityCredential()

    return {
        "secret": lambda: m.ClientSecretCredential(tenant, secret["client_id"], secret["secret"], **common),
        "certificate": lambda: m.CertificateCredential(tenant, cert["client_id"], cert["pem"], **common),
        "managed identity": managed_identity,
    }


def cold(args: dict[str, Any]) -> dict[str, Any]:
    """New credential, first token, close: per kind, ``runs`` times after one untimed warm-up."""
    makers = _makers(args["lib"], args)
    samples: dict[str, list[float]] = {kind: [] for kind in makers}
    for i in range(args["runs"] + 1):
        for kind, make in makers.items():
            start = time.perf_counter()
            credential = make()
            credential.get_token(args["scopes"][kind])
            elapsed = time.perf_counter() - start
            credential.close()
            if i:  # the first round loads what the library imports lazily
                samples[kind].append(elapsed)
    return {"samples": samples}


def memory(args: dict[str, Any]) -> dict[str, Any]:
    """Bytes allocated (tracemalloc) by ``count`` ClientSecretCredential instances, after warm-up."""
    cls = _module(args["lib"]).ClientSecretCredential
    make = lambda: cls(args["tenant"], args["client_id"], args["secret"])  # noqa: E731
    warm = [make() for _ in range(3)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    credentials = [make() for _ in range(args["count"])]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(credentials) == args["count"] and warm
    return {"bytes": after - before}


def dac_failure(args: dict[str, Any]) -> dict[str, Any]:
    """DefaultAzureCredential with nothing configured: seconds from construction until it raises.

    The first attempt in the process includes what the library imports lazily; the second does not.
    """
    m = _module(args["lib"])
    results = []
    for _ in range(2):
        start = time.perf_counter()
        try:
            m.DefaultAzureCredential().get_token("https://storage.azure.com/.default")
        except Exception as error:  # the expected outcome
            results.append((time.perf_counter() - start, type(error).__name__))
        else:
            raise SystemExit("DefaultAzureCredential unexpectedly returned a token")
    return {"first": results[0][0], "again": results[1][0], "error": results[0][1]}


def throughput(args: dict[str, Any]) -> dict[str, Any]:
    """``threads`` threads call get_token over ``scopes`` scopes (round-robin) for ``seconds``."""
    m = _module(args["lib"])
    credential = m.ClientSecretCredential(
        args["tenant"], args["client_id"], args["secret"], **_entra_kwargs(args["lib"], args)
    )
    scopes = [f"https://resource{i}.example.test/.default" for i in range(args["scopes"])]
    threads = args["threads"]
    counts = [0] * threads
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(index: int) -> None:
        barrier.wait()
        n = index
        try:
            while not stop.is_set():
                credential.get_token(scopes[n % len(scopes)])
                n += 1
                counts[index] += 1
        except Exception as error:  # reported, not raised: the run's other threads go on
            errors.append(repr(error)[:200])

    pool = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(args["seconds"])
    stop.set()
    for thread in pool:
        thread.join(30)
    elapsed = time.perf_counter() - start
    credential.close()
    return {"calls": sum(counts), "seconds": elapsed, "errors": errors[:3]}


def cache_hit(args: dict[str, Any]) -> dict[str, Any]:
    """Seconds per cache-hit call of get_token and get_token_info, sync and async (one process per
    library)."""
    lib, budget, repeats = args["lib"], args["budget"], args["repeats"]
    scope = args["scope"]
    results: dict[str, float] = {}

    def calibrate(run: Callable[[int], float]) -> int:
        n = 16
        while run(n) < budget / 4 and n < 10_000_000:
            n *= 4
        return n

    sync_credential = _module(lib).ClientSecretCredential(
        args["tenant"], args["client_id"], args["secret"], **_entra_kwargs(lib, args)
    )
    for method in ("get_token", "get_token_info"):
        call = getattr(sync_credential, method)
        call(scope)

        def run(n: int, call: Any = call) -> float:
            start = time.perf_counter()
            for _ in range(n):
                call(scope)
            return time.perf_counter() - start

        n = calibrate(run)
        results[f"{method} (sync)"] = sorted(run(n) / n for _ in range(repeats))[repeats // 2]
    sync_credential.close()

    async def measure_async() -> None:
        credential = _module(lib, aio=True).ClientSecretCredential(
            args["tenant"], args["client_id"], args["secret"], **_entra_kwargs(lib, args)
        )
        for method in ("get_token", "get_token_info"):
            call = getattr(credential, method)
            await call(scope)

            async def run(n: int, call: Any = call) -> float:
                start = time.perf_counter()
                for _ in range(n):
                    await call(scope)
                return time.perf_counter() - start

            n = 16
            while await run(n) < budget / 4 and n < 10_000_000:
                n *= 4
            samples = sorted([await run(n) / n for _ in range(repeats)])
            results[f"{method} (async)"] = samples[repeats // 2]
        await credential.close()

    asyncio.run(measure_async())
    return {"per_call": results}


TASKS = {
    "cold": cold,
    "memory": memory,
    "dac_failure": dac_failure,
    "throughput": throughput,
    "cache_hit": cache_hit,
}


def main() -> None:
    warnings.simplefilter("ignore")  # deprecation notices are not results
    task, raw = sys.argv[1], sys.argv[2]
    print(json.dumps(TASKS[task](json.loads(raw))))


if __name__ == "__main__":
    main()
