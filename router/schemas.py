"""Request and response models of the public API.

The request models validate what clients send; the response models only document what the gateway
returns (responses are built as plain dicts on the hot path). Both feed `/openapi.json`.
Unknown request fields are allowed and forwarded untouched, as OpenAI-compatible servers expect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag


def _by_type(*models: type[BaseModel]) -> Discriminator:
    """Chooses a union member by its `type` field; members are tagged by class name.

    Class-name tags keep validation error locations free of values that look like field names,
    so `describe_validation_error` can name the offending parameter exactly.
    """
    by_type = {m.model_fields["type"].annotation.__args__[0]: m.__name__ for m in models}  # type: ignore[union-attr]

    def tag_of(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return by_type.get(kind) if isinstance(kind, str) else None

    return Discriminator(
        tag_of,
        custom_error_type="invalid_type",
        custom_error_message="'type' must be one of: " + ", ".join(repr(t) for t in by_type),
    )


class _Open(BaseModel):
    """A request object whose unknown fields pass through to the backend."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(_Open):
    type: Literal["text"]
    text: str


class ImageURL(_Open):
    url: Annotated[str, Field(min_length=1)]
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Open):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(_Open):
    data: str
    format: str


class AudioPart(_Open):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(_Open):
    type: Literal["file"]
    file: dict[str, Any]


ContentPart = Annotated[
    Annotated[TextPart, Tag("TextPart")]
    | Annotated[ImagePart, Tag("ImagePart")]
    | Annotated[AudioPart, Tag("AudioPart")]
    | Annotated[FilePart, Tag("FilePart")],
    _by_type(TextPart, ImagePart, AudioPart, FilePart),
]


class FunctionCall(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str
    type: Literal["function"]
    function: FunctionCall


class Message(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(_Open):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Closed):
    name: str


class NamedToolChoice(_Closed):
    type: Literal["function"]
    function: NamedFunction


class TextFormat(_Closed):
    type: Literal["text"]


class JsonObjectFormat(_Closed):
    type: Literal["json_object"]


class JsonSchema(_Open):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(_Closed):
    type: Literal["json_schema"]
    json_schema: JsonSchema


ResponseFormat = Annotated[
    Annotated[TextFormat, Tag("TextFormat")]
    | Annotated[JsonObjectFormat, Tag("JsonObjectFormat")]
    | Annotated[JsonSchemaFormat, Tag("JsonSchemaFormat")],
    _by_type(TextFormat, JsonObjectFormat, JsonSchemaFormat),
]


class StreamOptions(_Open):
    include_usage: bool | None = None


Probability = Annotated[float, Field(ge=0, le=1)]
Penalty = Annotated[float, Field(ge=-2, le=2)]


class MaxPrice(_Open):
    """USD per 1M tokens, as OpenRouter takes it."""

    prompt: Annotated[float, Field(ge=0)] | None = None
    completion: Annotated[float, Field(ge=0)] | None = None


class ProviderPreferences(_Open):
    """OpenRouter's `provider` object; backends are named as in the gateway's config."""

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    allow_fallbacks: bool | None = None
    sort: Literal["price", "throughput", "latency"] | None = None
    max_price: MaxPrice | None = None


class ChatCompletionRequest(_Open):
    """`POST /v1/chat/completions`: the spec's parameters plus OpenAI's other ones."""

    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Probability | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    seed: int | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    user: str | None = None
    # OpenRouter's routing extensions, interpreted by the gateway and not forwarded.
    models: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=8)] | None = None
    provider: ProviderPreferences | None = None


# --- responses (documentation only) ---


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: str | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None


class ChunkDelta(BaseModel):
    role: str | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class Architecture(BaseModel):
    modality: str
    tokenizer: str
    instruct_type: str | None = None


class Pricing(BaseModel):
    prompt: str
    completion: str
    request: str


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    context_length: int
    architecture: Architecture
    pricing: Pricing


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class Health(BaseModel):
    status: str
    timestamp: str


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list"})


def _is_field_segment(segment: str | int) -> bool:
    """Whether a pydantic error location segment names a field (not a union branch)."""
    if isinstance(segment, int):
        return True
    return segment.isidentifier() and segment not in _TYPE_TAGS and not segment[0].isupper()


def describe_validation_error(errors: list[Any]) -> tuple[str, str]:
    """(param, message) for the most specific of pydantic's errors, e.g. `messages[0].content`."""
    # Deepest location first; on a tie, a broken constraint says more than a type mismatch from
    # another branch of a union (`stop: [5 strings]` is too long, not "not a string").
    best_param, best_message, best_rank = "", "Invalid request", (-1, False)
    for error in errors:
        param = ""
        depth = 0
        for segment in error["loc"]:
            if not _is_field_segment(segment):
                continue
            depth += 1
            if isinstance(segment, int):
                param += f"[{segment}]"
            else:
                param += f".{segment}" if param else segment
        rank = (depth, not str(error["type"]).endswith("_type"))
        if rank > best_rank:
            best_param, best_message, best_rank = param, error["msg"], rank
    return best_param, best_message
