import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models on a shared 2-core machine: one thread (see tests/model/bilm_helpers.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from eval_helpers import tiny_model_dir

    return tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", seed=0)
