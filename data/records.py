"""The records of the factory and their declared pyarrow schemas (DESIGN.md, Records).

Every record is a typed dataclass. ``SCHEMAS`` maps a record name to its pyarrow schema,
and Parquet files carry ``schema_version`` in their metadata.

>>> p = Problem(problem_id="p1", question="1 + 1?", gold_answer="2", source="synthetic")
>>> Problem.from_dict(p.to_dict()) == p
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

SCHEMA_VERSION = "1"


def content_id(*parts: Any, length: int = 16) -> str:
    """A deterministic id: the hex SHA-256 of the JSON of ``parts``.

    >>> content_id("a", 1) == content_id("a", 1)
    True
    >>> len(content_id("a"))
    16
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def seed_from(*parts: Any) -> int:
    """A 31-bit seed derived from content, so reruns reproduce their samples.

    >>> seed_from("t", 3) == seed_from("t", 3)
    True
    """
    return int(content_id(*parts, length=8), 16) & 0x7FFFFFFF


class _Record:
    SCHEMA: ClassVar[pa.Schema]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass
class Problem(_Record):
    problem_id: str
    question: str
    gold_answer: str
    source: str
    gold_steps: list[str] | None = None

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("problem_id", pa.string()),
            ("question", pa.string()),
            ("gold_answer", pa.string()),
            ("source", pa.string()),
            ("gold_steps", pa.list_(pa.string())),
        ]
    )


@dataclass
class Trace(_Record):
    trace_id: str
    problem_id: str
    question: str
    gold_answer: str
    steps: list[str]
    policy: str
    final_answer: str | None = None
    outcome_correct: bool = False
    gold_labels: list[bool] | None = None
    source: str = ""
    gold_steps: list[str] | None = None
    # The exact text around the steps (one more than the steps: before, between, after), when it is not
    # simply the step delimiter; joined with the steps it gives back the policy's whole message.
    step_delimiters: list[str] | None = None
    prompt_format: str = ""  # JSON of the prompt format the policy was prompted in ("" = plain)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("trace_id", pa.string()),
            ("problem_id", pa.string()),
            ("question", pa.string()),
            ("gold_answer", pa.string()),
            ("steps", pa.list_(pa.string())),
            ("policy", pa.string()),
            ("final_answer", pa.string()),
            ("outcome_correct", pa.bool_()),
            ("gold_labels", pa.list_(pa.bool_())),
            ("source", pa.string()),
            ("gold_steps", pa.list_(pa.string())),
            ("step_delimiters", pa.list_(pa.string())),
            ("prompt_format", pa.string()),
        ]
    )


@dataclass
class Rollout(_Record):
    trace_id: str
    step_index: int
    sample_index: int
    text: str
    extracted_answer: str | None
    verdict: str
    n_tokens: int
    false_equation: str | None = None  # the continuation's first false equation (arithmetic check)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("trace_id", pa.string()),
            ("step_index", pa.int32()),
            ("sample_index", pa.int32()),
            ("text", pa.string()),
            ("extracted_answer", pa.string()),
            ("verdict", pa.string()),
            ("n_tokens", pa.int32()),
            ("false_equation", pa.string()),
        ]
    )


@dataclass
class StepLabels(_Record):
    """The product: TRL stepwise-supervision columns plus the Monte Carlo evidence."""

    prompt: str
    completions: list[str]
    labels: list[bool]
    trace_id: str
    problem_id: str
    soft_labels: list[float]
    n_rollouts: list[int]
    n_correct: list[int]
    first_error: int | None
    strategy: str
    policy: str
    verifier: str
    gold_labels: list[bool] | None = None
    prompt_format: str = ""  # JSON of the prompt format of the policy's rollouts ("" = plain)

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("prompt", pa.string()),
            ("completions", pa.list_(pa.string())),
            ("labels", pa.list_(pa.bool_())),
            ("trace_id", pa.string()),
            ("problem_id", pa.string()),
            ("soft_labels", pa.list_(pa.float32())),
            ("n_rollouts", pa.list_(pa.int32())),
            ("n_correct", pa.list_(pa.int32())),
            ("first_error", pa.int32()),
            ("strategy", pa.string()),
            ("policy", pa.string()),
            ("verifier", pa.string()),
            ("gold_labels", pa.list_(pa.bool_())),
            ("prompt_format", pa.string()),
        ]
    )


@dataclass
class SearchResult(_Record):
    """One problem solved by a guided-search method (``prm-factory search``)."""

    problem_id: str
    method: str
    n: int
    answer: str | None
    gold_answer: str
    correct: bool
    samples: int  # completions generated (whole solutions, or candidate steps and lookahead rollouts)
    tokens: int  # generated tokens, every candidate included
    score: float | None = None  # the PRM score of the chosen solution, when a PRM chose it
    solution: str = ""

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            ("problem_id", pa.string()),
            ("method", pa.string()),
            ("n", pa.int32()),
            ("answer", pa.string()),
            ("gold_answer", pa.string()),
            ("correct", pa.bool_()),
            ("samples", pa.int32()),
            ("tokens", pa.int64()),
            ("score", pa.float64()),
            ("solution", pa.string()),
        ]
    )


SCHEMAS: dict[str, pa.Schema] = {
    "problem": Problem.SCHEMA,
    "trace": Trace.SCHEMA,
    "rollout": Rollout.SCHEMA,
    "step_labels": StepLabels.SCHEMA,
    "search_result": SearchResult.SCHEMA,
}

RECORD_TYPES = {"problem": Problem, "trace": Trace, "rollout": Rollout, "step_labels": StepLabels,
                "search_result": SearchResult}


def make_trace_id(problem_id: str, policy: str, sample_index: int, seed: int) -> str:
    """Trace ids hash the problem, the policy and the sample, so a rerun reproduces them.

    >>> make_trace_id("p", "pol", 0, 1) == make_trace_id("p", "pol", 0, 1)
    True
    """
    return content_id("trace", problem_id, policy, sample_index, seed)

