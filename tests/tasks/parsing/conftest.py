import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models: one intra-op thread is faster than several, and much faster on a loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
