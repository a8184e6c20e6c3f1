"""Gateway overhead: the same load sent straight to a canned upstream, then through one gateway.

The upstream answers from prepared bytes (bench/canned_upstream.py), so what the gateway costs is
all that differs between the two columns: requests/s it relays at concurrency 64, plain and
streamed, and the latency it adds at concurrency 1. One gateway process with its ledger on
(SQLite in a temporary directory); load from wrk in its own process (bench/wrk_load.py).

Latency at concurrency 1 is measured twice. On a virtual machine an idle vCPU takes far longer to
wake than the gateway takes to relay a request, and a request through the gateway wakes three
processes instead of two, so the plain figure mostly measures the hypervisor. The second run keeps
every vCPU busy with spinners at the lowest priority (nice 19), which yield to any real work, so
what remains is the gateway's own added latency.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--warmup 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from servers import cpu_seconds, cpu_wait_seconds, start_servers
from wrk_load import LoadResult, WrkUnavailable, ensure_wrk, lua_script, run_wrk

MIN_PLAIN_RPS = 3000.0
MIN_STREAM_RPS = 2000.0
MAX_ADDED_P50_MS = 0.5
MODEL_ID = "bench-chat"
NPROC = len(os.sched_getaffinity(0))  # what `nproc` prints


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str
    connections: int
    is_stream: bool
    keeps_cpus_awake: bool = False


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured wrk run, with the CPU each process used meanwhile (% of one core), and the
    share of the time the gateway's event loop was runnable but waiting for a CPU."""

    load: LoadResult
    upstream_cpu_pct: float
    gateway_cpu_pct: float
    gateway_cpu_wait_pct: float

    @property
    def wrk_cpu_pct(self) -> float:
        return 100.0 * self.load.wrk_cpu_s / self.load.duration_s


PLAN = (
    Measurement("non-streaming", 64, is_stream=False),
    Measurement("streaming", 64, is_stream=True),
    Measurement("latency", 1, is_stream=False),
    Measurement("latency awake", 1, is_stream=False, keeps_cpus_awake=True),
)
SPINNER = "import os\nos.nice(19)\nwhile True: pass"
TARGETS = ("direct", "via gateway")


def request_body(is_stream: bool) -> bytes:
    body = {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": "Say hello in five words."}],
        "max_tokens": 16,
        "stream": is_stream,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def check_once(target: Target, is_stream: bool) -> None:
    """One request before any load, so a broken set-up fails with a readable error."""
    request = urllib.request.Request(
        target.url, data=request_body(is_stream), headers=target.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise RuntimeError(f"{target.name}: HTTP {error.code}: {detail}") from None
    marker = b"data: [DONE]" if is_stream else b'"choices"'
    if marker not in body:
        raise RuntimeError(f"{target.name}: unexpected answer: {body[:500]!r}")


def measure(
    wrk: str,
    target: Target,
    measurement: Measurement,
    pids: dict[str, int],
    args: argparse.Namespace,
    workdir: Path,
) -> tuple[Sample, LoadResult]:
    """A warm-up run, then the measured run; returns the sample and the warm-up's result."""
    kind = "stream" if measurement.is_stream else "plain"
    script = workdir / f"{target.name.replace(' ', '-')}-{kind}.lua"
    script.write_text(
        lua_script(request_body(measurement.is_stream), target.headers, measurement.is_stream)
    )

    def load(duration_s: float) -> LoadResult:
        return run_wrk(
            wrk,
            target.url,
            script,
            connections=measurement.connections,
            threads=args.threads,
            duration_s=duration_s,
        )

    with ExitStack() as spinners:
        if measurement.keeps_cpus_awake:
            for _ in range(NPROC):
                spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
                spinners.callback(spinner.wait)
                spinners.callback(spinner.kill)
        return _measure_load(load, pids, args)


def _measure_load(
    load: Callable[[float], LoadResult], pids: dict[str, int], args: argparse.Namespace
) -> tuple[Sample, LoadResult]:
    warmup = load(args.warmup)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    waited_before = cpu_wait_seconds(pids["gateway"])
    result = load(args.duration)
    waited = cpu_wait_seconds(pids["gateway"]) - waited_before
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    percent = {name: 100.0 * seconds / result.duration_s for name, seconds in used.items()}
    wait_pct = 100.0 * waited / result.duration_s
    return Sample(result, percent["upstream"], percent["gateway"], wait_pct), warmup


def describe(target: Target, measurement: Measurement, sample: Sample) -> str:
    load = sample.load
    line = (
        f"  {target.name:<11} {measurement.label:<14} c={measurement.connections:<3} "
        f"{load.requests_per_s:>9,.0f} req/s  p50 {load.p50_ms:6.3f} ms  p99 {load.p99_ms:6.3f} ms"
        f"  failed {load.failures}  cpu%: upstream {sample.upstream_cpu_pct:.0f}"
        f" gateway {sample.gateway_cpu_pct:.0f} (+{sample.gateway_cpu_wait_pct:.0f} waiting)"
        f" wrk {sample.wrk_cpu_pct:.0f}"
    )
    if load.failures:
        line += (
            f"\n  !!! {load.failures} FAILED: {load.bad_status} not 200,"
            f" {load.bad_body} incomplete, {load.socket_errors} socket errors;"
            f" first: {load.first_failure}"
        )
    return line


def ledger_rows(database: Path) -> dict[int, int]:
    """Ledger rows by HTTP status."""
    with sqlite3.connect(database, timeout=30) as connection:
        rows = connection.execute("SELECT status, COUNT(*) FROM ledger GROUP BY status").fetchall()
    return {int(status): int(count) for status, count in rows}


def verdict(is_met: bool) -> str:
    return "ok" if is_met else "MISSED"


def print_table(
    results: dict[tuple[str, str], Sample], args: argparse.Namespace, wrk_version: str
) -> None:
    def rps(target: str, label: str) -> float:
        return results[(target, label)].load.requests_per_s

    def ms(target: str, which: str, label: str = "latency") -> float:
        load = results[(target, label)].load
        return load.p50_ms if which == "p50" else load.p99_ms

    plain_gw, stream_gw = rps("via gateway", "non-streaming"), rps("via gateway", "streaming")
    added_p50 = ms("via gateway", "p50") - ms("direct", "p50")
    awake = "latency awake"
    added_awake_p50 = ms("via gateway", "p50", awake) - ms("direct", "p50", awake)
    failed = {t: sum(s.load.failures for (n, _), s in results.items() if n == t) for t in TARGETS}
    via_gateway = {m.label: results[("via gateway", m.label)] for m in PLAN}
    rows = [
        ("non-streaming req/s", "c=64", f"{rps('direct', 'non-streaming'):,.0f}",
         f"{plain_gw:,.0f}", f">= {MIN_PLAIN_RPS:,.0f}", verdict(plain_gw >= MIN_PLAIN_RPS)),
        ("streaming req/s", "c=64", f"{rps('direct', 'streaming'):,.0f}",
         f"{stream_gw:,.0f}", f">= {MIN_STREAM_RPS:,.0f}", verdict(stream_gw >= MIN_STREAM_RPS)),
        ("p50 latency ms", "c=1", f"{ms('direct', 'p50'):.3f}", f"{ms('via gateway', 'p50'):.3f}",
         "", ""),
        ("p99 latency ms", "c=1", f"{ms('direct', 'p99'):.3f}", f"{ms('via gateway', 'p99'):.3f}",
         "", ""),
        ("added p50 ms", "c=1", "", f"{added_p50:.3f}", f"<= {MAX_ADDED_P50_MS}",
         verdict(added_p50 <= MAX_ADDED_P50_MS)),
        ("p50, vCPUs awake", "c=1", f"{ms('direct', 'p50', awake):.3f}",
         f"{ms('via gateway', 'p50', awake):.3f}", "", ""),
        ("p99, vCPUs awake", "c=1", f"{ms('direct', 'p99', awake):.3f}",
         f"{ms('via gateway', 'p99', awake):.3f}", "", ""),
        ("added p50, awake", "c=1", "", f"{added_awake_p50:.3f}", f"<= {MAX_ADDED_P50_MS}",
         verdict(added_awake_p50 <= MAX_ADDED_P50_MS)),
        ("failed requests", "", f"{failed['direct']}", f"{failed['via gateway']}", "0",
         verdict(not any(failed.values()))),
    ]  # fmt: skip
    print(
        f"\nGateway overhead   nproc {NPROC}   {wrk_version}, {args.threads} thread(s)"
        f"   {args.duration:g} s per measurement after {args.warmup:g} s warm-up"
    )
    header = ("", "", "direct", "via gateway", "floor", "")
    for row in (header, *rows):
        print(f"{row[0]:<20} {row[1]:<5} {row[2]:>10} {row[3]:>12} {row[4]:>10}  {row[5]}")
    # Running plus waiting near 100% means the gateway was CPU-bound; the waiting share is time
    # the scheduler gave to other processes (the upstream, wrk, anything else on the machine).
    print(
        "gateway CPU, % of one core (+ % its event loop waited for a CPU): "
        + ", ".join(
            f"{label} {s.gateway_cpu_pct:.0f} (+{s.gateway_cpu_wait_pct:.0f})"
            for label, s in via_gateway.items()
        )
    )


def run(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    wrk_version = " ".join(wrk_version.split()[:2])
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hi-bench-")))
        servers = start_servers(stack, workdir, MODEL_ID)
        json_header = {"Content-Type": "application/json"}
        path = "/v1/chat/completions"
        targets = {
            "direct": Target("direct", servers.upstream_url + path, json_header),
            "via gateway": Target(
                "via gateway",
                servers.gateway_url + path,
                {**json_header, "Authorization": f"Bearer {servers.api_key}"},
            ),
        }
        for target in targets.values():
            for is_stream in (False, True):
                check_once(target, is_stream)
        print(f"nproc {NPROC}, load average {os.getloadavg()[0]:.2f}; measuring ...")
        pids = {"upstream": servers.upstream_pid, "gateway": servers.gateway_pid}
        results: dict[tuple[str, str], Sample] = {}
        gateway_requests = 2  # the checks above
        for measurement in PLAN:
            for name in TARGETS:
                sample, warmup = measure(wrk, targets[name], measurement, pids, args, workdir)
                results[(name, measurement.label)] = sample
                print(describe(targets[name], measurement, sample), flush=True)
                if warmup.failures:
                    print(f"  !!! warm-up had {warmup.failures} failed requests: "
                          f"{warmup.first_failure}")  # fmt: skip
                if name == "via gateway":
                    gateway_requests += warmup.requests + sample.load.requests
        servers.stop_gateway()
        print_table(results, args, wrk_version)
        rows = ledger_rows(servers.ledger_path)
        by_status = ", ".join(f"{count:,} with status {status}" for status, count in rows.items())
        print(f"ledger: {sum(rows.values()):,} rows ({by_status}) for {gateway_requests:,} "
              "requests wrk saw answered through the gateway")  # fmt: skip
        failed = sum(s.load.failures for s in results.values())
        if failed:
            print(f"\n!!! {failed} REQUESTS FAILED: the figures above are not valid !!!")
            return 1
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack, which stops the children


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (1 leaves the most CPU to the servers)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGHUP, _exit_on_sigterm)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    except (WrkUnavailable, RuntimeError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or ""
        print(f"error: {exc}\n{detail}".rstrip(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
