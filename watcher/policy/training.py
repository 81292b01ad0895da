"""Training data for the statistical layer: the project's own corpus and the store's reviews.

The corpus lives in ``config/policy/corpus/*.jsonl``, one comment a line::

    {"text": "...", "lang": "fr", "categories": []}            # acceptable
    {"text": "...", "lang": "fr", "categories": ["illegal"]}   # litigious

It was written for Vigie (Québec French and English school-community comments); it contains no
text from the public evaluation sets. Administrators' review decisions (``review_labels`` joined
to ``comments``) are added when a store is given: the latest decision on a comment wins, and
"acceptable" means no category.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from watcher.categories import CATEGORY_IDS
from watcher.errors import ConfigError
from watcher.policy.model import Example

CORPUS_DIR = Path(__file__).resolve().parents[2] / "config" / "policy" / "corpus"


def read_corpus(folder: Path = CORPUS_DIR) -> list[Example]:
    """Given the corpus folder, return its examples in a stable order.

    Raise ConfigError naming the file and line of the first malformed entry.
    """
    examples: list[Example] = []
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise ConfigError(f"{folder}: no corpus file (*.jsonl)")
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise ConfigError(f"{path}:{number}: not JSON ({error.msg})") from None
            text = entry.get("text") if isinstance(entry, dict) else None
            categories = entry.get("categories", []) if isinstance(entry, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{path}:{number}: \"text\" must be a non-empty string")
            if not isinstance(categories, list) or set(categories) - set(CATEGORY_IDS):
                raise ConfigError(f"{path}:{number}: \"categories\" must list known category ids")
            lang = entry.get("lang")
            examples.append(Example(text, frozenset(categories), f"corpus:{path.name}",
                                    lang if isinstance(lang, str) else None))
    return examples


def read_review_labels(database_url: str) -> list[Example]:
    """Given a store URL, return administrators' review decisions as examples (oldest first)."""
    from watcher.store.models import Comment, ReviewLabel

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(ReviewLabel.comment_id, ReviewLabel.label, ReviewLabel.decided_at,
                          Comment.text)
                .join(Comment, Comment.id == ReviewLabel.comment_id)
                .order_by(ReviewLabel.comment_id, ReviewLabel.decided_at, ReviewLabel.id)
            ).all()
    except sa.exc.SQLAlchemyError as error:
        raise ConfigError(f"the store cannot be read for training: {error.__class__.__name__}") from None
    finally:
        engine.dispose()
    latest: dict[int, tuple[object, set[str], str]] = {}
    for comment_id, label, decided_at, text in rows:
        when, labels, _ = latest.get(comment_id, (None, set(), text))
        if when != decided_at:
            labels = set()  # a later decision replaces the earlier ones
        labels.add(label)
        latest[comment_id] = (decided_at, labels, text)
    return [_review_example(text, labels) for _, (_, labels, text) in sorted(latest.items())
            if text and text.strip()]


def _review_example(text: str, labels: Iterable[str]) -> Example:
    categories = frozenset(label for label in labels if label in CATEGORY_IDS)
    return Example(text, categories, "review")
