"""HybridInference: an OpenAI- and OpenRouter-compatible gateway for local GPUs and cloud LLMs."""

__version__ = "0.1.0"
