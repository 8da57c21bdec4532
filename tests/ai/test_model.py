"""The pure AI package: features, rules, the synthetic history and the model."""

from __future__ import annotations

import pytest

from tocsin.ai import model, rules, synthetic
from tocsin.ai.features import IncidentFacts, text_of
from tocsin.ai.model import ModelError, TriageModel


def test_the_model_beats_the_rules_on_a_generated_history() -> None:
    """On held-out synthetic incidents the model's severity is far better than
    the rule set's, in both accuracy and macro-F1."""
    history = synthetic.generate(1500, seed=3)

    result = model.evaluate(history, "severity")

    assert result.model.accuracy > result.rules.accuracy + 0.3
    assert result.model.macro_f1 > result.rules.macro_f1 + 0.3
    assert result.model.accuracy > 0.8
    assert result.model.count == result.rules.count == 375


def test_the_synthetic_history_is_seeded() -> None:
    """The same seed gives the same incidents; another seed others."""
    assert synthetic.generate(50, seed=1) == synthetic.generate(50, seed=1)
    assert synthetic.generate(50, seed=1) != synthetic.generate(50, seed=2)


def test_labels_are_words_of_their_own() -> None:
    """A label becomes one `key=value` word after the title and description."""
    facts = IncidentFacts("Disk full", "on db-1", {"env": "prod", "a b": "c d"})

    assert text_of(facts) == "Disk full on db-1 a_b=c_d env=prod"


def test_rules_match_whole_words_and_say_which() -> None:
    """The first matching rule wins and its words are the reasons; a word
    inside another word does not match; with nothing matching, sev3."""
    outage = rules.suggest(IncidentFacts("Checkout is down"))
    assert outage["severity"].value == "sev1"
    assert outage["severity"].reasons == ("mentions 'down'",)
    assert outage["incident_type"].value == "outage"
    assert outage["severity"].source == "rules"

    quiet = rules.suggest(IncidentFacts("Downstream job reran"))
    assert quiet["severity"].value == "sev3"
    assert "incident_type" not in quiet


def test_rules_suggest_a_service_the_text_names() -> None:
    """A service other than the incident's own, named in the text, is
    suggested as the owner."""
    facts = IncidentFacts("search latency from checkout calls", service="checkout")

    found = rules.suggest(facts, ["checkout", "search"])

    assert found["service"].value == "search"


def test_suggestions_carry_confidence_reasons_and_source() -> None:
    """A trained model's suggestion names its source, a probability and the
    words that pushed it to the answer."""
    trained = model.train(synthetic.generate(400, seed=5), "synthetic")
    facts = IncidentFacts("payment gateway is down for every customer")

    found = trained.suggest(facts)

    assert found["severity"].value == "sev1"
    assert found["service"].value == "checkout"
    assert found["severity"].source == "synthetic"
    assert 0.25 < found["severity"].confidence <= 1.0
    assert any("down" in reason for reason in found["severity"].reasons)
    assert any("gateway" in reason for reason in found["service"].reasons)


def test_a_field_with_one_answer_is_left_to_the_rules() -> None:
    """With a single distinct answer there is nothing to learn: no model."""
    history = [
        e.__class__(e.facts, "sev2", None, e.service) for e in synthetic.generate(30)
    ]

    trained = model.train(history, "history")

    assert set(trained.fields) == {"service"}


def test_a_model_survives_its_artefact_and_a_bad_one_is_refused() -> None:
    """Dumped and loaded, the model answers the same; garbage is ModelError."""
    trained = model.train(synthetic.generate(200), "synthetic")
    facts = IncidentFacts("indexer replica lag is growing quickly")

    loaded = TriageModel.load(trained.dump(b"key"), b"key")

    assert loaded.suggest(facts) == trained.suggest(facts)
    with pytest.raises(ModelError):
        TriageModel.load(b"not a model", b"key")
    with pytest.raises(ModelError):
        TriageModel.load(trained.dump(b"key"), b"another key")


def test_scores_hold_a_confusion_matrix() -> None:
    """Rows are the answers, columns the predictions, in label order."""
    scores = model.score(["sev1", "sev1", "sev2"], ["sev1", "sev2", "sev2"])

    assert scores.labels == ("sev1", "sev2")
    assert scores.confusion == ((1, 1), (0, 1))
    assert scores.accuracy == pytest.approx(0.6667)
