"""Diagnosis: turns a failure and its exchanges into something a person can act on."""

from __future__ import annotations

from .._vocabulary import Category
from .._words import LANGUAGES
from ._catalogue import Explanation, explain, missing_entries
from ._classify import classify
from ._failure import FailureFacts, describe_failure
from ._model import Diagnosis, Difference
from .dialects import ErpError, decode

__all__ = [
    "LANGUAGES",
    "Category",
    "Diagnosis",
    "Difference",
    "ErpError",
    "Explanation",
    "FailureFacts",
    "classify",
    "decode",
    "describe_failure",
    "explain",
    "missing_entries",
]
