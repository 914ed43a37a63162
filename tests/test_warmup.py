"""Start-up warm-up: every hook runs once, the heap is frozen, the young generation widened."""

from __future__ import annotations

import gc
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.warmup import GEN0_THRESHOLD


def test_started_app_has_a_frozen_heap_and_a_wider_young_generation(
    app_factory: Callable[..., FastAPI],
) -> None:
    """After start-up the warm-up's objects are frozen and gen0 collects every 10,000."""
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with TestClient(app_factory()):
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
