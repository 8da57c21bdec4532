"""The learned suggester: one linear classifier per field.

Each field's pipeline is TF-IDF over the text (title, description, labels;
words and word pairs) joined with one-hot categories (source, and the service
except when the service is what is predicted), then a multinomial logistic
regression. A linear model keeps the reasons honest: the top reasons are the
features whose weight times value pushed hardest towards the chosen class.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from tocsin.ai import rules as rule_set
from tocsin.ai.features import FIELDS, Example, IncidentFacts, categories_of, text_of
from tocsin.ai.rules import Suggestion

TOP_REASONS = 3
# Leads every stored artefact, before its HMAC and the pickle.
SIGNED = b"tocsin-model-hmac-sha256\n"
Progress = Callable[[str], None]


class ModelError(Exception):
    """The model cannot be trained or loaded."""


class FieldModel:
    """Suggests one field from incident facts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._with_service = name != "service"
        self._text = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            max_features=50_000,
            # Keeps label words such as `env=prod` whole.
            token_pattern=r"(?u)\w[\w=.-]*",  # noqa: S106 - a regex, not a secret
        )
        self._categories = DictVectorizer()
        self._classifier = LogisticRegression(max_iter=1000, C=4.0)

    def fit(self, facts: Sequence[IncidentFacts], answers: Sequence[str]) -> None:
        texts = [text_of(f) for f in facts]
        cats = [categories_of(f, with_service=self._with_service) for f in facts]
        matrix = hstack(
            [self._text.fit_transform(texts), self._categories.fit_transform(cats)]
        ).tocsr()
        self._classifier.fit(matrix, list(answers))
        self._names = np.concatenate(
            [
                self._text.get_feature_names_out(),
                self._categories.get_feature_names_out(),
            ]
        )

    def _matrix(self, facts: Sequence[IncidentFacts]) -> csr_matrix:
        texts = [text_of(f) for f in facts]
        cats = [categories_of(f, with_service=self._with_service) for f in facts]
        return hstack(
            [self._text.transform(texts), self._categories.transform(cats)]
        ).tocsr()

    def predict(self, facts: Sequence[IncidentFacts]) -> list[str]:
        return [str(value) for value in self._classifier.predict(self._matrix(facts))]

    def suggest(self, facts: IncidentFacts, source: str) -> Suggestion:
        row = self._matrix([facts])
        probabilities = self._classifier.predict_proba(row)[0]
        best = int(np.argmax(probabilities))
        value = str(self._classifier.classes_[best])
        return Suggestion(
            field=self.name,
            value=value,
            confidence=round(float(probabilities[best]), 3),
            reasons=self._reasons(row, best),
            source=source,
        )

    def _reasons(self, row: csr_matrix, best: int) -> tuple[str, ...]:
        # Binary problems keep one row of weights, for the second class.
        weights = self._classifier.coef_
        if weights.shape[0] == 1:
            sign = 1.0 if best == 1 else -1.0
            weights_of_best = weights[0] * sign
        else:
            weights_of_best = weights[best]
        pushes = [
            (float(value * weights_of_best[index]), index)
            for index, value in zip(row.indices, row.data, strict=True)
        ]
        pushes.sort(reverse=True)
        return tuple(
            _describe(str(self._names[index]))
            for push, index in pushes[:TOP_REASONS]
            if push > 0
        )


def _describe(feature: str) -> str:
    if feature.startswith("source="):
        return f"source is {feature.removeprefix('source=')!r}"
    if feature.startswith("service="):
        return f"service is {feature.removeprefix('service=')!r}"
    return f"mentions {feature!r}"


@dataclass
class TriageModel:
    """The field models trained together, and where their examples came from."""

    source: str
    examples: int
    fields: dict[str, FieldModel] = field(default_factory=dict)

    def suggest(self, facts: IncidentFacts) -> dict[str, Suggestion]:
        return {
            name: model.suggest(facts, self.source)
            for name, model in self.fields.items()
        }

    def dump(self, key: bytes) -> bytes:
        """The model pickled, behind an HMAC-SHA256 of the pickle under `key`."""
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        body = buffer.getvalue()
        return SIGNED + hmac.new(key, body, hashlib.sha256).digest() + body

    @staticmethod
    def load(artefact: bytes, key: bytes) -> TriageModel:
        """The model stored by `dump` under the same key.

        Unpickling runs whatever code the pickle names, so the signature is
        checked first: an artefact planted by someone who could write the
        database but does not hold the key is refused without being read."""
        mac_end = len(SIGNED) + hashlib.sha256().digest_size
        mac, body = artefact[len(SIGNED) : mac_end], artefact[mac_end:]
        expected = hmac.new(key, body, hashlib.sha256).digest()
        if not artefact.startswith(SIGNED) or not hmac.compare_digest(mac, expected):
            raise ModelError("the stored model is not signed with this secret key")
        try:
            model = pickle.loads(body)  # noqa: S301 - signed by us, checked above
        except Exception as error:
            raise ModelError(f"the stored model cannot be read: {error}") from error
        if not isinstance(model, TriageModel):
            raise ModelError("the stored artefact is not a triage model")
        return model


def train(
    examples: Sequence[Example],
    source: str,
    *,
    fields: Sequence[str] = FIELDS,
    progress: Progress | None = None,
) -> TriageModel:
    """A model for every field in `fields` with at least two distinct answers
    among `examples`; fields with fewer are left to the rules."""
    model = TriageModel(source=source, examples=len(examples))
    for name in fields:
        if progress is not None:
            progress(name)
        known = [(e.facts, e.answer(name)) for e in examples if e.answer(name)]
        if len({answer for _, answer in known}) < 2:
            continue
        field_model = FieldModel(name)
        field_model.fit([f for f, _ in known], [str(a) for _, a in known])
        model.fields[name] = field_model

    return model


@dataclass(frozen=True)
class Scores:
    """How well predictions matched the answers on held-out examples."""

    accuracy: float
    macro_f1: float
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    count: int


def score(answers: Sequence[str], predictions: Sequence[str]) -> Scores:
    labels = sorted(set(answers) | set(predictions))
    matrix = confusion_matrix(list(answers), list(predictions), labels=labels)
    return Scores(
        accuracy=round(float(accuracy_score(answers, predictions)), 4),
        macro_f1=round(
            float(
                f1_score(
                    answers,
                    predictions,
                    labels=labels,
                    average="macro",
                    zero_division=0,
                )
            ),
            4,
        ),
        labels=tuple(labels),
        confusion=tuple(tuple(int(c) for c in row) for row in matrix),
        count=len(answers),
    )


def split(
    examples: Sequence[Example], *, held_out: float = 0.25, seed: int = 11
) -> tuple[list[Example], list[Example]]:
    """A seeded shuffle cut into (training, held-out)."""
    order = np.random.default_rng(seed).permutation(len(examples))
    cut = len(examples) - max(1, int(len(examples) * held_out))
    shuffled = [examples[int(i)] for i in order]
    return shuffled[:cut], shuffled[cut:]


@dataclass(frozen=True)
class Evaluation:
    """The model and the rule set scored on the same held-out examples."""

    field: str
    model: Scores
    rules: Scores
    trained_on: int


def evaluate(
    examples: Sequence[Example],
    name: str,
    *,
    services: Sequence[str] = (),
    source: str = "history",
    seed: int = 11,
) -> Evaluation:
    """Train on part of `examples`, then score the model and the rules on the
    rest for field `name`. Raises ModelError when too few examples carry it."""
    known = [e for e in examples if e.answer(name)]
    training, held_out = split(known, seed=seed)
    model = train(training, source, fields=(name,))
    if name not in model.fields or not held_out:
        raise ModelError(f"too few examples with a {name} to evaluate")

    answers = [str(e.answer(name)) for e in held_out]
    predicted = model.fields[name].predict([e.facts for e in held_out])
    ruled = []
    for example in held_out:
        found = rule_set.suggest(example.facts, services).get(name)
        ruled.append(found.value if found else "none")

    return Evaluation(
        field=name,
        model=score(answers, predicted),
        rules=score(answers, ruled),
        trained_on=len(training),
    )
