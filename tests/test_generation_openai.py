"""The openai backend against REAL loopback peers: llama-cpp-python's OpenAI-compatible server serving SmolLM2,
a dead port, a port that never answers, and a tiny HTTP peer that rate-limits before answering."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from generation_helpers import LlamaServer, TinyShapes, free_port

from pcclip.errors import PcclipError
from pcclip.llm.base import SamplingParams
from pcclip.llm.config import preset
from pcclip.llm.generate import generate_pool
from pcclip.llm.openai_backend import OpenAIBackend
from pcclip.llm.pool import pool_counts, pool_provenance
from pcclip.store import open_store

KEY = "sk-test-loopback-7f3a9c"
ENV = "PCCLIP_TEST_OPENAI_KEY"


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    srv = LlamaServer(api_key=KEY)
    try:
        yield srv
    finally:
        srv.close()


@pytest.mark.slow
@pytest.mark.llm
def test_pool_through_a_real_openai_compatible_server(
    server: LlamaServer, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    cfg = preset(
        "gpt-4", name="smollm2-via-http", model="smollm2", base_url=server.url, api_key_env=ENV, max_tokens=16,
        prompt_id="one-sentence-v1", concurrency=2, filter={"min_chars": 20},
    )
    store = open_store(db_file)
    pid = generate_pool(store, TinyShapes(6), "pool", cfg, 2, batch_size=2)
    counts = pool_counts(store, pid)
    assert counts["rows"] == 2
    con_rows = store.engine.raw_connection()
    try:
        rows = con_rows.execute("SELECT raw_text, tokens, seconds, text, accepted FROM comparison").fetchall()
    finally:
        con_rows.close()
    assert all(raw.strip() and 0 < tokens <= 16 and seconds > 0 for raw, tokens, seconds, _t, _a in rows)
    prov = pool_provenance(store, pid)
    assert prov["backend"] == "openai" and prov["model_id"] == "smollm2" and prov["params"]["base_url"] == server.url
    store.close()
    # the key is used, never stored
    assert KEY.encode() not in db_file.read_bytes()
    wal = db_file.with_name(db_file.name + "-wal")
    assert not wal.exists() or KEY.encode() not in wal.read_bytes()


@pytest.mark.slow
@pytest.mark.llm
def test_wrong_or_missing_key_is_named(server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    b = OpenAIBackend("smollm2", base_url=server.url, api_key_env=ENV, max_retries=0)
    with pytest.raises(PcclipError, match="rejected the API key; check the key in its environment variable"):
        b.generate(["hello"], SamplingParams(max_tokens=4))
    b.close()
    assert KEY not in repr(b)


def test_missing_key_for_openai_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_OPENAI_KEY", raising=False)
    with pytest.raises(PcclipError, match="set the environment variable MY_OPENAI_KEY"):
        OpenAIBackend("gpt-4", api_key_env="MY_OPENAI_KEY")


def test_dead_endpoint_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    b = OpenAIBackend("gpt-4", base_url=url, max_retries=1, timeout_s=5)
    with pytest.raises(PcclipError, match=f"cannot reach the OpenAI-compatible endpoint {url}"):
        b.generate(["hello"], SamplingParams(max_tokens=4))
    b.close()


def test_silent_endpoint_times_out() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # accepts connections, never answers
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    try:
        b = OpenAIBackend("gpt-4", base_url=url, max_retries=0, timeout_s=0.5)
        with pytest.raises(PcclipError, match="no answer within the timeout"):
            b.generate(["hello"], SamplingParams(max_tokens=4))
        b.close()
    finally:
        sock.close()


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 (twice) and 503 (once) before a valid chat completion; 400 for prompts containing 'refuse'."""

    calls: list[str] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).calls.append(prompt)
        n = sum(c == prompt for c in type(self).calls)
        if "refuse" in prompt:
            return self._send(400, {"error": {"message": "content policy", "type": "invalid_request_error"}})
        if n <= 2:
            return self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after-ms": "10"})
        if n == 3:
            return self._send(503, {"error": {"message": "busy"}}, {"retry-after-ms": "10"})
        self._send(200, {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"answer to {prompt}"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        })

    def _send(self, code: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def test_rate_limits_and_server_errors_are_retried_and_refusals_recorded() -> None:
    _Flaky.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        b = OpenAIBackend("gpt-4", base_url=url, max_retries=4, concurrency=3)
        gens = b.generate(["p1", "p2", "please refuse"], SamplingParams(max_tokens=8))
        assert [g.text for g in gens[:2]] == ["answer to p1", "answer to p2"]
        assert gens[0].tokens == 5 and gens[0].finish_reason == "stop"
        assert _Flaky.calls.count("p1") == 4 and _Flaky.calls.count("p2") == 4  # 429, 429, 503, then 200
        assert gens[2].finish_reason == "error" and "content policy" in gens[2].extra["error"]
        b.close()
        b = OpenAIBackend("gpt-4", base_url=url, max_retries=1)
        with pytest.raises(PcclipError, match="still rate-limited after retries"):
            b.generate(["fresh"], SamplingParams(max_tokens=8))
        b.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
