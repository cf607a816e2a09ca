import torch
def test_add() -> None:
    assert int(torch.tensor(2) + 2) == 4
