"""Similar past incidents by text: TF-IDF vectors compared by cosine.

The past incidents are vectorised together with the new one each time; with
tens of thousands of incidents this stays well under a second (bench/ai.py),
and it needs no stored index that could drift from the incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel


@dataclass(frozen=True)
class Match:
    key: int
    score: float


def rank(text: str, past: Sequence[tuple[int, str]], *, limit: int = 5) -> list[Match]:
    """The `limit` past texts (key, text) most like `text`, best first; those
    sharing no word with it are left out."""
    if not past or not text.strip():
        return []

    vectoriser = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    try:
        matrix = vectoriser.fit_transform([text, *(body for _, body in past)])
    except ValueError:
        # Only stop words or no words at all: nothing to compare.
        return []

    scores = linear_kernel(matrix[0:1], matrix[1:])[0]
    best = sorted(range(len(past)), key=lambda i: (-scores[i], past[i][0]))
    return [
        Match(past[i][0], round(float(scores[i]), 4))
        for i in best[:limit]
        if scores[i] > 0
    ]
