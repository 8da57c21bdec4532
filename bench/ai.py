"""Triage suggestion benchmark: training and suggestion time on 10,000
generated past incidents, with the rule set as the peer in the same run.

`python bench/ai.py [--incidents 10000] [--suggest 1000] [--seed 7]` generates
a synthetic history (tocsin.ai.synthetic), holds out a quarter, trains the
model on the rest and times it; then suggests for `--suggest` held-out
incidents with the model and with the rules, timing each, and scores both on
those incidents. It also times one similar-incidents search over the whole
history. It touches no database: it measures the model, not the storage.
"""

from __future__ import annotations

import argparse
import time

from tocsin.ai import model, rules, similar, synthetic
from tocsin.ai.features import text_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--suggest", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    history = synthetic.generate(args.incidents, seed=args.seed)
    training, held_out = model.split(history)
    held_out = held_out[: args.suggest]
    services = sorted(synthetic.SERVICES)

    started = time.perf_counter()
    trained = model.train(training, "history")
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    learned = [trained.suggest(e.facts)["severity"].value for e in held_out]
    model_seconds = time.perf_counter() - started

    started = time.perf_counter()
    ruled = [rules.suggest(e.facts, services)["severity"].value for e in held_out]
    rules_seconds = time.perf_counter() - started

    answers = [str(e.severity) for e in held_out]
    model_scores = model.score(answers, learned)
    rules_scores = model.score(answers, ruled)

    past = [(i, text_of(e.facts)) for i, e in enumerate(training)]
    started = time.perf_counter()
    similar.rank(text_of(held_out[0].facts), past)
    similar_seconds = time.perf_counter() - started

    per_model = model_seconds / len(held_out) * 1000
    per_rules = rules_seconds / len(held_out) * 1000
    print(f"history: {len(history)} generated incidents, seed {args.seed}")
    print(f"training on {len(training)}: {train_seconds:.2f} s (3 fields)")
    print(
        f"suggesting, all fields, per incident: model {per_model:.2f} ms, "
        f"rules {per_rules:.3f} ms, model/rules {per_model / per_rules:.0f}x"
    )
    print(
        f"severity on {len(held_out)} held out: model accuracy "
        f"{model_scores.accuracy:.3f} macro-F1 {model_scores.macro_f1:.3f}; rules "
        f"accuracy {rules_scores.accuracy:.3f} macro-F1 {rules_scores.macro_f1:.3f}"
    )
    print(f"similar incidents over {len(past)}: {similar_seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
