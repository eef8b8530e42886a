"""Decode many prompts at once in one llama.cpp context (the fast path of the llama_cpp backend).

Each prompt gets its own sequence (a KV-cache stream). The prompt prefix that every prompt shares (the chat
template's system turn and the fixed part of the question) is evaluated once into a holder sequence and copied
to each slot with `llama_memory_seq_cp`; only the pair-specific suffix is prefilled per prompt. Slots are refilled
as soon as their sequence finishes (continuous batching), so one llama_decode call advances every live sequence
by one token while prefilling new ones. The same code runs on CPU and with GPU offload (the context inherits the
model's offload settings).

Outputs follow `Llama.create_completion`'s rules so that greedy results match a plain `create_chat_completion`
loop: stop at an end-of-generation token, at the first stop string (text cut before it), or at max_tokens; bytes
decoded with errors ignored.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import llama_cpp

from pcclip.llm.base import Generation, SamplingParams


@dataclass
class _Slot:
    """One live sequence."""

    seq: int
    index: int = -1  # which prompt it is decoding; -1 = free
    pending: list[int] = field(default_factory=list)  # prompt tokens not yet evaluated
    kv: list[int] = field(default_factory=list)  # tokens whose keys/values this sequence holds (positions 0..)
    reused: int = 0  # prompt tokens copied from another sequence instead of evaluated
    pos: int = 0  # next KV position
    tokens: list[int] = field(default_factory=list)  # generated tokens
    text: bytes = b""
    max_tokens: int = 0
    sampler: Any = None
    started: float = 0.0
    out_row: int = -1  # row of this slot's logits in the last batch


def _lcp(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def common_prefix(token_lists: list[list[int]]) -> int:
    """Length of the token prefix shared by all lists (0 for fewer than two lists)."""
    if len(token_lists) < 2:
        return 0
    first, n = token_lists[0], min(len(t) for t in token_lists)
    for other in token_lists[1:]:
        k = 0
        while k < n and other[k] == first[k]:
            k += 1
        n = k
    return n


class BatchDecoder:
    """A multi-sequence llama.cpp context built on an already loaded model."""

    def __init__(
        self,
        model: Any,
        base_params: Any,
        *,
        n_parallel: int,
        n_ctx_seq: int,
        n_batch: int,
        kv_unified: bool = False,
    ) -> None:
        self.model = model  # llama_cpp._internals.LlamaModel (owned by the Llama object)
        self.vocab = llama_cpp.llama_model_get_vocab(model.model)
        self.n_parallel = n_parallel
        self.n_ctx_seq = n_ctx_seq
        self.n_batch = n_batch
        self.holder = n_parallel  # seq id that keeps the shared prefix
        n_seq = n_parallel + 1
        # Inherit the Llama object's context settings (flash attention, KV types, rope, offload) so the numbers
        # match its plain path; change only what multi-sequence decoding needs.
        params = type(base_params).from_buffer_copy(base_params)
        params.n_seq_max = n_seq
        # Non-unified: every sequence has its own KV stream of n_ctx_seq cells, so attention of a decode step only
        # looks at that sequence's cells instead of the whole batch's.
        params.kv_unified = kv_unified
        params.n_ctx = n_ctx_seq * n_seq  # unified: one pool of the same size
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(model.model, params)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context for {n_seq} sequences of {n_ctx_seq} tokens")
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._piece = (ctypes.c_char * 256)()

    def close(self) -> None:
        if self.batch is not None:
            llama_cpp.llama_batch_free(self.batch)
            self.batch = None
        if self.ctx:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None

    # -- batch helpers ---------------------------------------------------------------------------------------
    def _clear_batch(self) -> None:
        self.batch.n_tokens = 0

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        b, i = self.batch, self.batch.n_tokens
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        b.n_tokens = i + 1
        return i

    def _decode(self) -> None:
        rc = llama_cpp.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc} (KV cache full or bad batch)")

    def _piece_of(self, token: int) -> bytes:
        n = llama_cpp.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        return bytes(self._piece[:n]) if n > 0 else b""

    def _make_sampler(self, params: SamplingParams) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if params.temperature <= 0.0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            # The same chain `Llama.create_chat_completion` builds (top_k 40, min_p 0.05), seeded per prompt so a
            # prompt's sample does not depend on which batch or slot it landed in.
            for s in (
                llama_cpp.llama_sampler_init_top_k(40),
                llama_cpp.llama_sampler_init_top_p(params.top_p, 1),
                llama_cpp.llama_sampler_init_min_p(0.05, 1),
                llama_cpp.llama_sampler_init_temp(params.temperature),
                llama_cpp.llama_sampler_init_dist(params.seed),
            ):
                llama_cpp.llama_sampler_chain_add(chain, s)
        return chain

    # -- the decode loop -------------------------------------------------------------------------------------
    def run(
        self,
        prompts: list[list[int]],
        params: SamplingParams,
        stops: list[bytes],
        max_tokens: list[int],
    ) -> list[Generation]:
        """Generate one completion per tokenised prompt (each must fit in n_ctx_seq with its max_tokens)."""
        results: list[Generation | None] = [None] * len(prompts)
        if not prompts:
            return []
        t0 = time.perf_counter()
        self.prefill_tokens = 0
        # Keep at least one token of each prompt out of the shared prefix: its logits start the generation.
        n_prefix = min(common_prefix(prompts), min(len(p) for p in prompts) - 1)
        llama_cpp.llama_memory_clear(self.mem, True)
        if n_prefix > 0:
            for start in range(0, n_prefix, self.n_batch):
                self._clear_batch()
                for k in range(start, min(n_prefix, start + self.n_batch)):
                    self._add(prompts[0][k], k, self.holder, False)
                self._decode()
        # Prompts in token order, so that prompts sharing more than the common prefix (the same first caption)
        # start one after the other and can copy it from the sequence that evaluated it.
        queue = deque(sorted(range(len(prompts)), key=lambda i: prompts[i]))
        slots = [_Slot(seq=s) for s in range(self.n_parallel)]
        holder_kv = list(prompts[0][:n_prefix])

        def start(slot: _Slot, index: int) -> None:
            prompt = prompts[index]
            # Reuse the longest prompt prefix any sequence already holds (at least the shared prefix); keep one
            # token to evaluate, for the logits of the first generated token.
            src, keep = self.holder, min(_lcp(prompt, holder_kv), len(prompt) - 1)
            for other in slots:
                k = min(_lcp(prompt, other.kv), len(prompt) - 1)
                if k > keep or (k == keep and other is slot):
                    src, keep = other.seq, k
            if src != slot.seq:
                llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, -1, -1)
                if keep > 0:
                    # Whole-sequence copy (what non-unified KV streams support), then drop what is not shared.
                    llama_cpp.llama_memory_seq_cp(self.mem, src, slot.seq, -1, -1)
            llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, keep, -1)
            slot.index, slot.pos, slot.kv, slot.reused = index, keep, list(prompt[:keep]), keep
            slot.pending = list(prompt[keep:])
            slot.tokens, slot.text = [], b""
            slot.max_tokens = max_tokens[index]
            slot.sampler = self._make_sampler(params)
            slot.started = time.perf_counter()
            self.prefill_tokens += len(slot.pending)

        def worth_waiting(index: int) -> bool:
            """True when a sequence about to be prefilled shares more of this prompt than any KV held now: starting
            one step later lets this prompt copy that longer prefix instead of evaluating it again."""
            prompt = prompts[index]
            have = max([_lcp(prompt, holder_kv)] + [_lcp(prompt, s.kv) for s in slots])
            return any(s.index >= 0 and s.pending and _lcp(prompt, prompts[s.index]) > have for s in slots)

        def finish(slot: _Slot, text: bytes, reason: str) -> None:
            results[slot.index] = Generation(
                text=text.decode("utf-8", errors="ignore"),
                tokens=len(slot.tokens),
                finish_reason=reason,
                extra={
                    "prompt_tokens": len(prompts[slot.index]),
                    "prefix_tokens": n_prefix,
                    "reused_tokens": slot.reused,
                    "latency_s": time.perf_counter() - slot.started,
                },
            )
            llama_cpp.llama_sampler_free(slot.sampler)
            slot.sampler, slot.index = None, -1

        while True:
            for slot in slots:
                if slot.index < 0 and queue and not worth_waiting(queue[0]):
                    start(slot, queue.popleft())
            live = [s for s in slots if s.index >= 0]
            if not live:
                break
            self._clear_batch()
            budget = self.n_batch
            # Decoding slots first (one token each), then prefill what still fits.
            for slot in live:
                slot.out_row = -1
                if not slot.pending and budget > 0:
                    slot.out_row = self._add(slot.tokens[-1], slot.pos, slot.seq, True)
                    slot.kv.append(slot.tokens[-1])
                    slot.pos += 1
                    budget -= 1
            for slot in live:
                if slot.pending and budget > 0:
                    take = slot.pending[:budget]
                    last = len(take) == len(slot.pending)
                    for k, tok in enumerate(take):
                        row = self._add(tok, slot.pos, slot.seq, last and k == len(take) - 1)
                        slot.pos += 1
                    slot.kv.extend(take)
                    del slot.pending[: len(take)]
                    budget -= len(take)
                    if last:
                        slot.out_row = row
            self._decode()
            for slot in live:
                if slot.out_row < 0:
                    continue
                token = llama_cpp.llama_sampler_sample(slot.sampler, self.ctx, slot.out_row)
                if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                    finish(slot, slot.text, "stop")
                    continue
                slot.tokens.append(token)
                slot.text += self._piece_of(token)
                hit = [s for s in stops if s in slot.text]
                if hit:
                    finish(slot, slot.text[: slot.text.index(hit[0])], "stop")
                elif len(slot.tokens) >= slot.max_tokens:
                    finish(slot, slot.text, "length")
        elapsed = time.perf_counter() - t0
        done = [g for g in results if g is not None]
        for g in done:
            # Sequences overlap in time: attribute the call's wall time evenly, so seconds add up to it.
            g.seconds = elapsed / len(done)
        return done
