"""Load generation with wrk: one POST body, every response checked, results as one parsable line.

wrk (C, epoll, LuaJIT) costs a small fraction of a core per thousand requests, so it is not the
bottleneck of a Python gateway. The generated Lua script counts each response that is not a 200 or
whose body is incomplete (a stream must end with `data: [DONE]`), and its `done` hook prints
throughput, latency percentiles and those counts, so nothing depends on wrk's human-readable output.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULT_PREFIX = "BENCH-RESULT "
FAILURE_PREFIX = "BENCH-FIRST-FAILURE "
RESULT_FIELD = re.compile(r"(\w+)=(\d+)")


class WrkUnavailable(Exception):
    """wrk is not installed and could not be; the message says how to install it."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    bad_body: int
    socket_errors: int
    first_failure: str
    wrk_cpu_s: float = 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def failures(self) -> int:
        return self.bad_status + self.bad_body + self.socket_errors


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get first when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    how = "install it with: sudo apt-get install -y wrk  (or build github.com/wg/wrk)"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise WrkUnavailable(f"wrk is not installed; {how}")
    print("wrk is not installed; installing it with apt-get ...", flush=True)
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False, capture_output=True)
        subprocess.run(install, check=False, capture_output=True)
    found = shutil.which("wrk")
    if found:
        return found
    raise WrkUnavailable(f"installing wrk with apt-get failed; {how}")


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(body: bytes, headers: dict[str, str], is_stream: bool) -> str:
    """A wrk script that POSTs `body` and checks every response."""
    header_lines = "\n".join(
        f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in headers.items()
    )
    if is_stream:
        complete = 'body:sub(-14) == "data: [DONE]\\n\\n"'
    else:
        complete = "body:find('\"choices\"', 1, true) ~= nil"
    return f"""
wrk.method = "POST"
wrk.body = {_lua_string(body.decode())}
{header_lines}

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad_status = 0
  bad_body = 0
  first_failure = ""
end

local function remember(status, body)
  if first_failure == "" then
    first_failure = status .. " " .. body:sub(1, 300):gsub("[\\r\\n]", " ")
  end
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    remember(status, body)
  elseif not ({complete}) then
    bad_body = bad_body + 1
    remember(status, body)
  end
end

function done(summary, latency, requests)
  local status, body, failure = 0, 0, ""
  for _, thread in ipairs(threads) do
    status = status + thread:get("bad_status")
    body = body + thread:get("bad_body")
    if failure == "" then failure = thread:get("first_failure") end
  end
  local e = summary.errors
  io.write(string.format(
    "{RESULT_PREFIX}requests=%d duration_us=%d p50_us=%d p99_us=%d bad_status=%d bad_body=%d "
      .. "socket_errors=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    status, body, e.connect + e.read + e.write + e.timeout))
  io.write("{FAILURE_PREFIX}" .. failure .. "\\n")
end
"""


def parse_result(stdout: str, wrk_cpu_s: float = 0.0) -> LoadResult:
    """The result line the script's `done` hook printed."""
    fields: dict[str, int] = {}
    first_failure = ""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            fields = {name: int(value) for name, value in RESULT_FIELD.findall(line)}
        elif line.startswith(FAILURE_PREFIX):
            first_failure = line.removeprefix(FAILURE_PREFIX).strip()
    if not fields:
        raise ValueError(f"wrk printed no result line:\n{stdout}")
    return LoadResult(
        requests=fields["requests"],
        duration_s=fields["duration_us"] / 1e6,
        p50_ms=fields["p50_us"] / 1000.0,
        p99_ms=fields["p99_us"] / 1000.0,
        bad_status=fields["bad_status"],
        bad_body=fields["bad_body"],
        socket_errors=fields["socket_errors"],
        first_failure=first_failure,
        wrk_cpu_s=wrk_cpu_s,
    )


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    duration_s: float,
) -> LoadResult:
    """One wrk run; blocks for `duration_s`."""
    command = [
        wrk,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        "--timeout=5s",
        f"--script={script}",
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0 or finished.stderr.strip():
        # wrk reports a broken Lua script on stderr and carries on with a plain GET.
        raise RuntimeError(f"wrk exited with {finished.returncode}: {finished.stderr.strip()}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return parse_result(finished.stdout, cpu_s)
