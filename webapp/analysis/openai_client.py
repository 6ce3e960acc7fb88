"""The OpenAI client as the `openai` transcriber and scorer use it, and how its failures
become the project's typed errors (category `processing`, retried by the retry policy)."""

import contextlib
import os
import re

from flask_babel import lazy_gettext as _l

from .. import outbound
from ..errors import ProcessingError
from ..providers.storage.base import Field

DEFAULT_TIMEOUT = 120
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
# The key variable is named in settings an admin can change, and the key is sent to the
# base URL: without this rule a setting could send SECRET_KEY or DATABASE_URL to any host.
KEY_ENV = re.compile(r"OPENAI_API_KEY|CALLBATCH_[A-Z0-9_]+_API_KEY")
KEY_ENV_RULE = "OPENAI_API_KEY or a name of the form CALLBATCH_<NAME>_API_KEY"

# The settings fields of the server and its key, in the transcriber's and the scorer's forms.
BASE_URL_FIELD = Field(
    "base_url", _l("Base URL"), help=_l("Leave empty for OpenAI; set it for a compatible self-hosted server.")
)
KEY_ENV_FIELD = Field(
    "api_key_env",
    _l("API key variable"),
    default=DEFAULT_KEY_ENV,
    help=_l("Name of the environment variable holding the key (never stored here)."),
)
TIMEOUT_FIELD = Field("timeout", _l("Timeout (s)"), kind="number", default=DEFAULT_TIMEOUT)


def validate(config, default_model):
    messages = []
    model = config.get("model", default_model)
    if not isinstance(model, str) or not model.strip():
        messages.append("Model: enter the model name, e.g. " + default_model + ".")
    base_url = config.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or not base_url.startswith(("http://", "https://"))):
        messages.append("Base URL: an http:// or https:// address, or leave it empty for OpenAI itself.")
    elif base_url:
        try:
            outbound.check_url(base_url)
        except outbound.Unresolvable:
            pass  # judged again on every connection
        except outbound.BlockedTarget as exc:
            messages.append(f"Base URL: {exc}")
    env = config.get("api_key_env", DEFAULT_KEY_ENV)
    if not isinstance(env, str) or not env.strip():
        messages.append("API key variable: the name of the environment variable holding the key.")
    elif not KEY_ENV.fullmatch(env):
        messages.append(f"API key variable: {env} is not allowed; use {KEY_ENV_RULE}.")
    if "api_key" in config:
        messages.append(
            "API key: keys are never stored in settings; put it in the environment "
            f"variable {env} and name that variable instead."
        )
    timeout = config.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 1 <= timeout <= 3600:
        messages.append("Timeout: seconds, from 1 to 3600.")
    return messages


def make_client(config, code="TRANSCRIPTION_FAILED"):
    import openai

    env = config.get("api_key_env", DEFAULT_KEY_ENV)
    if not isinstance(env, str) or not KEY_ENV.fullmatch(env):
        raise ProcessingError(f"The API key variable {env} is not allowed; use {KEY_ENV_RULE}.", code=code)
    key = os.environ.get(env)
    if not key:
        raise ProcessingError(f"The environment variable {env} holding the API key is not set.", code=code)
    return openai.OpenAI(
        api_key=key,
        base_url=config.get("base_url") or None,
        timeout=float(config.get("timeout", DEFAULT_TIMEOUT)),
        max_retries=int(config.get("client_retries", 0)),
    )


@contextlib.contextmanager
def guarded(code):
    """Around a call to the service: its connections go only to addresses the outbound guard
    allows (the base URL is typed in settings), a refusal becomes this step's error."""
    try:
        with outbound.guard():
            yield
    except outbound.BlockedTarget as exc:
        raise ProcessingError(f"The connection to the service was refused: {exc}", code=code) from None


def failure(exc, code, what):
    """A ProcessingError for an exception the openai package raised."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        message = f"The {what} service did not answer in time."
    elif isinstance(exc, openai.RateLimitError):
        message = f"The {what} service is rate-limiting requests (HTTP 429): {_detail(exc)}"
    elif isinstance(exc, openai.APIConnectionError):
        message = f"The {what} service could not be reached: {exc}"
    elif isinstance(exc, openai.APIStatusError):
        message = f"The {what} service answered HTTP {exc.status_code}: {_detail(exc)}"
    else:
        message = f"The {what} service failed."
    return ProcessingError(message, code=code, details={"engine_error": type(exc).__name__, "error": str(exc)})


def _detail(exc):
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))
