"""Shared tiny configs for the testbed tests (fast: tens of images, a 1-layer CLIP, a few steps)."""

from __future__ import annotations

from typing import Any

from pcclip.data.testbed import TestbedConfig, TestbedDataset, build_testbed
from pcclip.pretrain import PretrainConfig


def tiny_testbed_config(**overrides: Any) -> TestbedConfig:
    fields: dict[str, Any] = {"image_size": 32, "patch_size": 16, "n_train": 48, "n_pool": 12, "n_test": 60}
    fields.update(overrides)
    return TestbedConfig(**fields)


def tiny_testbed(**overrides: Any) -> TestbedDataset:
    return build_testbed(tiny_testbed_config(**overrides))


def tiny_pretrain_config(**overrides: Any) -> PretrainConfig:
    fields: dict[str, Any] = {"arch": "pcclip-testbed-tiny", "steps": 3, "batch_size": 16, "warmup": 1, "threads": 1}
    fields.update(overrides)
    return PretrainConfig(**fields)
