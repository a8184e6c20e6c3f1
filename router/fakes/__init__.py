"""Fake upstream servers: an OpenAI-compatible worker and Anthropic's Messages API.

They back the demo, the tests and the benchmarks. What a fake does for a request is scripted by
the upstream model name, e.g. `echo?ttft_ms=50&token_ms=5` or `echo?status=503` (see `script`).
"""
