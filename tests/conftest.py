"""Suite-wide settings and fixtures.

pytest-xdist runs one worker per core; torch's own thread pool on top of that
oversubscribes the two CI cores and makes small tensor ops ~25x slower, so each
worker uses one thread.

``have_smollm2``: the benches that run real SmolLM2 tensors fail (not skip) when the model's
tensors cannot be had, so that a CI run without them is never green by accident.
"""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def have_smollm2():
    try:
        from golden.smollm2 import model_path
        model_path()
    except Exception as exc:  # noqa: BLE001 - any missing piece means no real data
        pytest.fail(f"SmolLM2 tensors unavailable: {exc}")
    return True
