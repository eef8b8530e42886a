"""GPT-4 (or any model) through the official `openai` client, at OpenAI or any OpenAI-compatible server.

The API key is read from an environment variable at start and kept only inside the client: never stored in the
database, in provenance, or in messages. Rate limits (429), server errors (5xx), timeouts and dropped connections
are retried by the client with exponential backoff (`max_retries`); what still fails then stops the job with a
one-line error (a later run resumes), except a request the server refuses for its content (400), which is recorded
as a rejected comparison.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from pcclip.errors import PcclipError
from pcclip.llm.base import Generation, SamplingParams
from pcclip.llm.config import OPENAI_URL

# Sent to servers that need no key (a local llama.cpp/vLLM server): the client insists on some string.
NO_KEY = "no-key-needed"


def _is_openai(url: str) -> bool:
    return "api.openai.com" in url


def api_key(base_url: str | None, api_key_env: str) -> str:
    """The key from `api_key_env`; a placeholder for other servers (most local ones need none); an error for
    OpenAI itself, naming the variable."""
    url = (base_url or OPENAI_URL).rstrip("/")
    key = os.environ.get(api_key_env, "")
    if not key:
        if _is_openai(url):
            raise PcclipError(
                f"the OpenAI API key is missing: set the environment variable {api_key_env} "
                "(it is read from there only, never stored)"
            )
        key = NO_KEY
    return key


class OpenAIBackend:
    backend = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 4,
        concurrency: int = 4,
    ) -> None:
        import openai

        self.model_id = model
        self.file_sha256 = None
        self.base_url = (base_url or OPENAI_URL).rstrip("/")
        key = api_key(self.base_url, api_key_env)
        self._openai = openai
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout_s, max_retries=max_retries
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="pcclip-openai")

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(model={self.model_id!r}, base_url={self.base_url!r})"

    def _one(self, prompt: str, params: SamplingParams) -> Generation:
        oa = self._openai
        kwargs = {
            "model": self.model_id,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)[:4]  # the API accepts at most 4
        t0 = time.perf_counter()
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except oa.APITimeoutError:
            raise PcclipError(
                f"{self.base_url}: no answer within the timeout after retries; raise timeout_s or try later"
            ) from None
        except oa.APIConnectionError:
            raise PcclipError(
                f"cannot reach the OpenAI-compatible endpoint {self.base_url}; is the server running and the URL right?"
            ) from None
        except oa.AuthenticationError:
            raise PcclipError(
                f"{self.base_url} rejected the API key; check the key in its environment variable"
            ) from None
        except oa.NotFoundError:
            raise PcclipError(f"{self.base_url}: model {self.model_id!r} not found (or wrong base_url path)") from None
        except oa.RateLimitError:
            raise PcclipError(f"{self.base_url}: still rate-limited after retries; run again later to resume") from None
        except oa.BadRequestError as exc:
            # The server refused this prompt (content filter, too long...): a rejected comparison, not a dead job.
            msg = str(getattr(exc, "message", exc))[:200]
            return Generation("", 0, time.perf_counter() - t0, "error", {"error": msg})
        except oa.APIStatusError as exc:
            raise PcclipError(f"{self.base_url}: HTTP {exc.status_code} after retries; run again later") from None
        dt = time.perf_counter() - t0
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content or "") if choice and choice.message else ""
        tokens = resp.usage.completion_tokens if resp.usage else 0
        return Generation(text, tokens or 0, dt, (choice.finish_reason if choice else "") or "")

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        return list(self._pool.map(lambda p: self._one(p, params), prompts))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
