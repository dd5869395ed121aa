"""Before a run: is the configured model usable? After a failure: one line saying why not.

`check_model` fails fast, before any case or incident runs, when credentials are missing, the
endpoint cannot be reached, or it refuses the key or the model. The probes cost no tokens
(Anthropic `GET /v1/models/{id}`, OpenAI-compatible `GET /v1/models`). `describe_model_failure`
turns a provider error raised in the middle of a run into one line. Neither ever repeats an
API key: messages are redacted of every key in the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agents.models import ModelName, anthropic_client_args, openai_client_args
from healer.errors import ConfigError, ModelUnavailable

PROBE_TIMEOUT_SECONDS = 10.0
KEY_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
DEFAULT_ENDPOINTS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
}


def check_model(
    name: str,
    *,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise when the model `name` cannot serve a run; return when it can (or is offline).

    Raises:
        ConfigError: unknown provider, missing model id or missing credentials.
        ModelUnavailable: the endpoint is unreachable, or refuses the key or the model.
    """
    env = environ if environ is not None else os.environ
    model = ModelName.parse(name)
    if model.provider == "bedrock":
        import boto3

        if boto3.Session().get_credentials() is None:
            raise ConfigError(
                "--model bedrock needs AWS credentials (environment, profile or role) with "
                "Bedrock model access; none were found"
            )
    elif model.provider == "anthropic":
        _probe_anthropic(model.model_id, anthropic_client_args(base_url, env), env)
    elif model.provider == "openai":
        _probe_openai(openai_client_args(base_url, env), env)


def _probe_anthropic(model_id: str, args: dict[str, Any], env: Mapping[str, str]) -> None:
    import anthropic

    endpoint = _endpoint(args.get("base_url"), "anthropic")
    client = anthropic.Anthropic(**{**args, "timeout": PROBE_TIMEOUT_SECONDS}, max_retries=0)
    try:
        client.models.retrieve(model_id)
    except anthropic.NotFoundError as exc:
        raise ModelUnavailable(
            f"the Anthropic API at {endpoint} has no model {model_id!r}"
        ) from exc
    except anthropic.APIError as exc:
        raise ModelUnavailable(_status_line("Anthropic", endpoint, exc, env)) from exc
    finally:
        client.close()


def _probe_openai(args: dict[str, Any], env: Mapping[str, str]) -> None:
    import openai

    endpoint = _endpoint(args.get("base_url"), "openai")
    client = openai.OpenAI(**{**args, "timeout": PROBE_TIMEOUT_SECONDS}, max_retries=0)
    try:
        client.models.list()
    except openai.NotFoundError:
        pass  # a server without a model list: reachable, and the key was not refused
    except openai.APIError as exc:
        raise ModelUnavailable(_status_line("OpenAI-compatible", endpoint, exc, env)) from exc
    finally:
        client.close()


def _status_line(api: str, endpoint: str, exc: Exception, env: Mapping[str, str]) -> str:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        variable = "ANTHROPIC_API_KEY" if api == "Anthropic" else "OPENAI_API_KEY"
        return f"the {api} API at {endpoint} refused the API key in {variable} ({status})"
    if status is None:
        return f"cannot reach the {api} API at {endpoint}: {_one_line(exc, env)}"
    return f"the {api} API at {endpoint} answered {status}: {_one_line(exc, env)}"


def describe_model_failure(exc: BaseException, environ: Mapping[str, str] | None = None) -> str:
    """One line for a model-provider error raised during a run, or "" when `exc` is not one.

    Only SDKs already imported are consulted: an error cannot come from one that is not.
    """
    env = environ if environ is not None else os.environ
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        line = _describe_one(current, env)
        if line:
            return line
        current = current.__cause__ or current.__context__
    return ""


def _describe_one(exc: BaseException, env: Mapping[str, str]) -> str:
    for module, api in (("anthropic", "Anthropic"), ("openai", "OpenAI-compatible")):
        sdk = sys.modules.get(module)
        if sdk is not None and isinstance(exc, sdk.APIError):
            request = getattr(exc, "request", None)
            endpoint = _endpoint(str(request.url) if request is not None else None, module)
            return _status_line(api, endpoint, exc, env)
    strands_errors = sys.modules.get("strands.types.exceptions")
    if strands_errors is not None:
        if isinstance(exc, strands_errors.ModelThrottledException):
            return f"the model API is throttling requests: {_one_line(exc, env)}"
        if isinstance(exc, strands_errors.ContextWindowOverflowException):
            return "the conversation outgrew the model's context window"
    botocore_errors = sys.modules.get("botocore.exceptions")
    if botocore_errors is not None:
        if isinstance(
            exc, botocore_errors.NoCredentialsError | botocore_errors.EndpointConnectionError
        ):
            return f"Bedrock: {_one_line(exc, env)}"
        if isinstance(exc, botocore_errors.ClientError) and getattr(exc, "operation_name", "") in (
            "Converse",
            "ConverseStream",
        ):
            return f"Bedrock refused the request: {_one_line(exc, env)}"
    return ""


def _endpoint(url: str | None, provider: str) -> str:
    """The endpoint to name in a message: scheme, host, port and path, never user info."""
    if not url:
        return DEFAULT_ENDPOINTS[provider]
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path
    for tail in ("/messages", "/chat/completions", "/models"):
        path = path.split(tail)[0]
    return urlunsplit((parts.scheme, netloc, path.rstrip("/"), "", ""))


def _one_line(exc: BaseException, env: Mapping[str, str], limit: int = 240) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    for variable in KEY_VARIABLES:
        secret = env.get(variable, "").strip()
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text if len(text) <= limit else text[: limit - 1] + "…"
