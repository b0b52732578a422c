"""Two-tower models in PyTorch: one import path for the pointwise variants and the retrieval model.

``ConcatMLP``, ``TwoTowerMLP`` and their ``Tower``: course_lib/torch/two_tower_pointwise.py;
``TwoTowerRetrieval`` and ``in_batch_softmax_loss``: course_lib/torch/two_tower_retrieval.py;
their framework-free half: course_lib/two_tower_base.py. Twin: course_lib/tf/two_tower.py.
"""

from __future__ import annotations

from course_lib.torch.two_tower_pointwise import ConcatMLP, ConcatMLPNet, Tower, TwoTowerMLP, TwoTowerMLPNet
from course_lib.torch.two_tower_retrieval import TwoTowerRetrieval, TwoTowerRetrievalNet, in_batch_softmax_loss

__all__ = ["Tower", "in_batch_softmax_loss", "ConcatMLPNet", "TwoTowerMLPNet", "TwoTowerRetrievalNet",
           "ConcatMLP", "TwoTowerMLP", "TwoTowerRetrieval"]
