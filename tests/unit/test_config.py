"""The YAML configuration: the documented example is accepted; mistakes name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import ConfigError, load_config

EXAMPLE = """\
backends:
  - name: gpu-a                 # a local worker: vLLM, SGLang, llama.cpp server, Ollama...
    type: openai                # speaks the OpenAI API: proxied directly, no translation
    base_url: http://127.0.0.1:8001/v1
    locality: local
    max_concurrency: 32
  - name: anthropic
    type: litellm               # translated by litellm
    provider: anthropic
    api_key_env: ANTHROPIC_API_KEY
    locality: cloud
models:
  - id: llama-3.3-70b-instruct  # the public id clients ask for
    context_length: 131072
    routes:                      # where it can be served; optional per-route cost in USD per 1M
      - {backend: gpu-a, model: meta-llama/Llama-3.3-70B-Instruct}
      - {backend: anthropic, model: claude-3-5-haiku-latest, cost: {prompt: 0.8, completion: 4.0}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_documented_example_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    assert [b.name for b in config.backends] == ["gpu-a", "anthropic"]
    model = config.models[0]
    assert model.context_length == 131072
    assert model.routes[1].cost.completion == 4.0
    assert config.backend("gpu-a").max_concurrency == 32


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("backend: anthropic,", "backend: nowhere,"),
            "models[0].routes[1].backend: unknown backend",
        ),
        (("http://127.0.0.1:8001/v1", "not a url"), "backends[0].base_url"),
        (("name: anthropic", "name: gpu-a"), "backends[1].name: duplicate name 'gpu-a'"),
        (("max_concurrency: 32", "max_concurrency: 0"), "backends[0].max_concurrency"),
        (("type: litellm ", "type: grpc "), "backends[1].type"),
        (("provider: anthropic", "provider: ''"), "backends[1]: provider is required"),
        (("locality: cloud", "locality: moon"), "backends[1].locality"),
        (("prompt: 0.8", "prompt: -1"), "models[0].routes[1].cost.prompt"),
    ],
)
def test_a_mistake_names_the_field_in_one_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, EXAMPLE.replace(old, new)))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_duplicate_model_ids_are_rejected(tmp_path: Path) -> None:
    twice = EXAMPLE + "  - id: llama-3.3-70b-instruct\n    routes: [{backend: gpu-a, model: m}]\n"
    with pytest.raises(ConfigError, match=r"models\[1\]\.id: duplicate id"):
        load_config(write(tmp_path, twice))


def test_broken_yaml_reports_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_config(write(tmp_path, EXAMPLE + "  - [unclosed\n"))


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_the_default_policy_is_local_first_and_a_model_may_choose_another(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.default_policy == "local-first"
    chosen = EXAMPLE.replace(
        "    context_length: 131072\n", "    context_length: 131072\n    policy: cost\n"
    )
    assert load_config(write(tmp_path, chosen)).models[0].policy == "cost"


def test_an_unknown_policy_names_the_field(tmp_path: Path) -> None:
    bad = EXAMPLE.replace(
        "    context_length: 131072\n", "    context_length: 131072\n    policy: dice\n"
    )
    with pytest.raises(ConfigError, match=r"models\[0\]\.policy: unknown policy 'dice'"):
        load_config(write(tmp_path, bad))
