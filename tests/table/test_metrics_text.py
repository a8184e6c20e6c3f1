"""Reading a worker's load from its Prometheus /metrics text, as vLLM and SGLang expose it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.table.metrics_text import WorkerLoad, iter_samples, parse_worker_load

VLLM_METRICS = """\
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 12345.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0
vllm:num_requests_running{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
vllm:num_requests_waiting{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.41
vllm:kv_cache_usage_perc{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.27
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 42.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 42.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 3.14
"""

VLLM_V0_METRICS = """\
# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="Qwen/Qwen2.5-7B-Instruct"} 7.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="Qwen/Qwen2.5-7B-Instruct"} 11.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="Qwen/Qwen2.5-7B-Instruct"} 0.953
"""

SGLANG_METRICS = """\
# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="Qwen/Qwen2.5-7B-Instruct",tp_rank="0"} 12.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue.
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="Qwen/Qwen2.5-7B-Instruct",tp_rank="0"} 4.0
# HELP sglang:token_usage The token usage.
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="Qwen/Qwen2.5-7B-Instruct",tp_rank="0"} 0.58
# HELP sglang:gen_throughput The generation throughput (token/s).
# TYPE sglang:gen_throughput gauge
sglang:gen_throughput{model_name="Qwen/Qwen2.5-7B-Instruct",tp_rank="0"} 812.4
"""


def test_vllm_requests_are_summed_over_engines_and_cache_usage_is_the_fullest() -> None:
    assert parse_worker_load(VLLM_METRICS) == WorkerLoad(running=8, waiting=2, kv_cache_usage=0.41)


def test_older_vllm_reports_cache_usage_as_gpu_cache_usage_perc() -> None:
    assert parse_worker_load(VLLM_V0_METRICS) == WorkerLoad(
        running=7, waiting=11, kv_cache_usage=0.953
    )


def test_sglang_metrics() -> None:
    assert parse_worker_load(SGLANG_METRICS) == WorkerLoad(
        running=12, waiting=4, kv_cache_usage=0.58
    )


def test_windows_line_endings_and_timestamps_are_fine() -> None:
    text = "vllm:num_requests_running 3 1718000000000\r\nvllm:num_requests_waiting 1\r\n"
    assert parse_worker_load(text) == WorkerLoad(running=3, waiting=1)


def test_missing_metrics_are_unknown_not_zero() -> None:
    assert parse_worker_load("") == WorkerLoad(None, None, None)
    assert parse_worker_load("# just a comment\nup 1\n") == WorkerLoad(None, None, None)
    assert parse_worker_load("vllm:num_requests_waiting 0\n") == WorkerLoad(waiting=0)


def test_nan_and_infinite_samples_are_ignored() -> None:
    text = (
        "vllm:num_requests_running NaN\n"
        'vllm:num_requests_waiting{engine="0"} +Inf\n'
        'vllm:num_requests_waiting{engine="1"} 2\n'
        "vllm:kv_cache_usage_perc -Inf\n"
    )
    assert parse_worker_load(text) == WorkerLoad(running=None, waiting=2, kv_cache_usage=None)


def test_cache_usage_is_clamped_to_a_fraction() -> None:
    assert parse_worker_load("sglang:token_usage 1.7\n").kv_cache_usage == 1.0
    assert parse_worker_load("sglang:token_usage -0.2\n").kv_cache_usage == 0.0


def test_labels_with_escapes_braces_commas_and_spaces() -> None:
    text = (
        'vllm:num_requests_running{model_name="a \\"quoted\\" {model}, v2",'
        'path="C:\\\\models\\nx", } 4\n'
    )
    [sample] = iter_samples(text)
    assert sample.labels == {"model_name": 'a "quoted" {model}, v2', "path": "C:\\models\nx"}
    assert sample.value == 4.0
    assert parse_worker_load(text).running == 4


def test_an_openmetrics_exemplar_after_the_value_is_ignored() -> None:
    text = 'vllm:num_requests_running{engine="0"} 2 # {trace_id="abc"} 1.0 1718000000\n# EOF\n'
    assert parse_worker_load(text).running == 2


@pytest.mark.parametrize(
    "line",
    [
        "vllm:num_requests_running",
        "vllm:num_requests_running{",
        'vllm:num_requests_running{engine="0"',
        'vllm:num_requests_running{engine="0} 5',
        "vllm:num_requests_running{engine=0} 5",
        'vllm:num_requests_running{engine="0" model="m"} 5',
        "vllm:num_requests_running five",
        "vllm:num_requests_running{} ",
        "vllm:num_requests_running-1 5",
        "{} 5",
        "# vllm:num_requests_running 5",
    ],
)
def test_malformed_lines_are_skipped_and_the_rest_still_read(line: str) -> None:
    text = f"{line}\nvllm:num_requests_waiting 6\n"
    assert parse_worker_load(text) == WorkerLoad(waiting=6)


def test_only_the_named_metrics_are_parsed_when_names_are_given() -> None:
    names = [s.name for s in iter_samples(VLLM_METRICS, {"vllm:num_requests_waiting"})]
    assert names == ["vllm:num_requests_waiting"] * 2


@given(st.text())
def test_any_text_parses_without_raising(text: str) -> None:
    load = parse_worker_load(text)
    if load.kv_cache_usage is not None:
        assert 0.0 <= load.kv_cache_usage <= 1.0


_label_values = st.text(st.characters(codec="utf-8"), max_size=12)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["vllm:num_requests_running", "sglang:num_running_reqs", "other"]),
            st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), _label_values),
            st.integers(min_value=0, max_value=10_000),
        ),
        max_size=20,
    )
)
def test_written_samples_read_back_with_their_labels_and_sum(
    samples: list[tuple[str, dict[str, str], int]],
) -> None:
    lines = []
    for name, labels, value in samples:
        rendered = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name}{{{rendered}}} {value}" if labels else f"{name} {value}")
    text = "\n".join(lines) + "\n"
    assert [(s.name, s.labels, s.value) for s in iter_samples(text)] == [
        (name, labels, float(value)) for name, labels, value in samples
    ]
    running = [value for name, _, value in samples if name != "other"]
    assert parse_worker_load(text).running == (sum(running) if running else None)


def test_huge_values_do_not_overflow_into_an_error() -> None:
    text = 'vllm:num_requests_running 1e308\nvllm:num_requests_running{a="b"} 1e308\n'
    assert parse_worker_load(text).running is None
    assert math.isinf(sum(s.value for s in iter_samples(text)))
