"""The statistical layer: character and word n-grams, one calibrated linear model per category.

Training uses scikit-learn (``TfidfVectorizer`` over :func:`features`, ``LogisticRegression``
calibrated by ``CalibratedClassifierCV`` with a sigmoid, fixed folds and seeds). The fitted
vocabulary, idf weights, coefficients and calibration parameters are saved as a plain NumPy
archive (no pickle). Scoring one comment then computes exactly what scikit-learn would
(sublinear tf-idf, l2 norm, decision function, sigmoid) without building a sparse matrix, which
would cost milliseconds per comment; a test checks both give the same probabilities.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from watcher.errors import ConfigError
from watcher.policy.normalize import TOKEN, normalize, squeeze

FORMAT = 1
SHIPPED_MODEL = Path(__file__).parent / "model" / "vigie-model.npz"
MODEL_CATEGORIES = (
    "atteinte_droits", "discrimination", "diffamation_irrespect", "commercial_pourriel", "illegal",
)
SEED = 20260401


@lru_cache(maxsize=131072)
def word_grams(word: str) -> tuple[str, ...]:
    """Given a squeezed word, return its character 3- to 5-grams (padded with spaces)."""
    padded = f" {word} "
    size = len(padded)
    return tuple(padded[i:i + n] for n in (3, 4, 5) if size >= n for i in range(size - n + 1))


def _words(text: str) -> list[str]:
    return [squeeze(w) for w in TOKEN.findall(normalize(text).text)]


def features(text: str) -> list[str]:
    """Given a comment's text, return its n-gram features (the model's analyzer).

    Character 3- to 5-grams inside each word (padded with spaces) of the normalized text, and
    word unigrams and bigrams of squeezed words.
    """
    words = _words(text)
    grams: list[str] = []
    for word in words:
        grams.extend(word_grams(word))
    grams.extend("w:" + w for w in words)
    grams.extend(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return grams


@dataclass(frozen=True)
class Model:
    """A trained model, ready to score one comment at a time."""

    version: str
    categories: tuple[str, ...]
    index: Mapping[str, int]
    idf: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_features, n_categories): coefficients
    intercept: np.ndarray  # (n_categories,)
    calib_a: np.ndarray  # (n_categories,)
    calib_b: np.ndarray
    # the numerical libraries it was trained with: another release may round the last digits
    # of the same fit differently (see built_with())
    built_with: Mapping[str, str] = field(default_factory=dict, compare=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    table: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)), repr=False, compare=False)

    _intercept: tuple[float, ...] = field(default=(), repr=False, compare=False)
    _calib_a: tuple[float, ...] = field(default=(), repr=False, compare=False)
    _calib_b: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", np.column_stack([self.idf, self.weights]))
        for name in ("intercept", "calib_a", "calib_b"):
            object.__setattr__(self, "_" + name, tuple(getattr(self, name).tolist()))

    def _word_ids(self, word: str) -> np.ndarray:
        ids = self._cache.get(word)
        if ids is None:
            # The ids of word_grams(word), then of "w:" + word, in that order (as features()).
            padded = f" {word} "
            size = len(padded)
            get = self.index.get
            found = [get(padded[i:i + n]) for n in (3, 4, 5) for i in range(size - n + 1)]
            found.append(get("w:" + word))
            ids = np.array([i for i in found if i is not None], dtype=np.intp)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def predict(self, text: str, words: Sequence[str] | None = None) -> dict[str, float]:
        """Given a comment's text, return the calibrated probability of each modelled category.

        ``words``: the text's squeezed words (what :func:`features` reads), when the caller has
        them already (the engine's scan of the comment).
        """
        if words is None:
            words = _words(text)
        cache = self._cache
        try:
            parts = [cache[word] for word in words]
        except KeyError:
            parts = [self._word_ids(word) for word in words]
        index = self.index
        bigrams = [i for i in (index.get(f"b:{a} {b}") for a, b in zip(words, words[1:], strict=False))
                   if i is not None]
        if bigrams:
            parts.append(np.array(bigrams, dtype=np.intp))
        found = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
        size = len(found)
        if size:
            # Term frequencies: sort the feature ids; the last of each run of equal ids is a feature.
            found.sort()
            last = np.empty(size, dtype=bool)
            last[-1] = True
            np.not_equal(found[1:], found[:-1], out=last[:-1])
            ends = last.nonzero()[0]  # np.flatnonzero without its Python wrapper
            rows = self.table[found[ends]]  # idf, then one coefficient per category
            if len(ends) == size:  # every feature once: sublinear tf is 1 + log(1) = 1
                values = rows[:, 0].copy()
            else:
                tf = np.empty(len(ends))
                tf[0] = ends[0] + 1
                np.subtract(ends[1:], ends[:-1], out=tf[1:])
                values = (np.log(tf) + 1.0) * rows[:, 0]
            norm = math.sqrt(float(values @ values))
            products = [d / norm for d in (values @ rows[:, 1:]).tolist()]
        else:
            products = [0.0] * len(self.categories)  # no known feature: the intercepts alone
        z = [a * (d + i) + b for d, i, a, b
             in zip(products, self._intercept, self._calib_a, self._calib_b, strict=True)]
        return dict(zip(self.categories, [1.0 / (1.0 + e) for e in np.exp(z).tolist()], strict=True))


def load_model(path: Path | None = None) -> Model:
    """Given the path of a model archive (default: the shipped one), return the Model.

    Raise ConfigError if the file is missing or not a Vigie model.
    """
    path = Path(path) if path else SHIPPED_MODEL
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("format") != FORMAT:
                raise ConfigError(f"{path}: model format {meta.get('format')} is not supported")
            terms = archive["terms"].tolist()
            return Model(
                version=meta["version"],
                categories=tuple(meta["categories"]),
                index={term: i for i, term in enumerate(terms)},
                idf=archive["idf"].astype(np.float64),
                weights=archive["weights"].astype(np.float64),
                intercept=archive["intercept"].astype(np.float64),
                calib_a=archive["calib_a"].astype(np.float64),
                calib_b=archive["calib_b"].astype(np.float64),
                built_with=dict(meta.get("built_with", {})),
            )
    except FileNotFoundError:
        raise ConfigError(f"{path}: no model file (build it with “vigie train”)") from None
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"{path}: not a Vigie model ({error})") from None


@dataclass(frozen=True)
class Example:
    text: str
    categories: frozenset[str]
    source: str = "corpus"
    lang: str | None = None


@dataclass
class Fitted:
    """What scikit-learn fitted: the vectorizer and one calibrated classifier per category."""

    vectorizer: object
    classifiers: dict[str, object]
    counts: dict[str, int]


def fit(examples: Sequence[Example]) -> Fitted:
    """Given labelled examples, fit the vectorizer and the calibrated classifiers (deterministic)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    texts = [e.text for e in examples]
    vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, dtype=np.float64)
    matrix = vectorizer.fit_transform(texts)
    classifiers: dict[str, object] = {}
    counts: dict[str, int] = {}
    for category in MODEL_CATEGORIES:
        labels = np.array([category in e.categories for e in examples], dtype=int)
        positives = int(labels.sum())
        counts[category] = positives
        if positives < 10 or positives > len(labels) - 10:
            continue
        base = LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear",
                                  random_state=SEED, max_iter=2000)
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
        model = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False)
        model.fit(matrix, labels)
        classifiers[category] = model
    return Fitted(vectorizer, classifiers, counts)


def built_with() -> dict[str, str]:
    """The releases of the libraries a fit depends on. The same corpus gives the same model with
    the same releases; with others, the same decisions but probabilities that may differ in the
    seventh decimal (the weights are stored as float32)."""
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "scipy": scipy.__version__}


def train(examples: Sequence[Example], output: Path) -> tuple[str, dict[str, int]]:
    """Given labelled examples, fit the model, save it to ``output``; return its version and counts.

    Deterministic: same examples in the same order give the same model.
    """
    fitted = fit(examples)
    vectorizer = fitted.vectorizer
    vocabulary = vectorizer.vocabulary_  # type: ignore[attr-defined]
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    categories = list(fitted.classifiers)
    weights, intercepts, calib_a, calib_b = [], [], [], []
    for category in categories:
        calibrated = fitted.classifiers[category].calibrated_classifiers_[0]  # type: ignore[attr-defined]
        calibrator = calibrated.calibrators[0]
        weights.append(calibrated.estimator.coef_[0])
        intercepts.append(calibrated.estimator.intercept_[0])
        calib_a.append(calibrator.a_)
        calib_b.append(calibrator.b_)
    digest = hashlib.sha256()
    for example in examples:
        digest.update(example.text.encode() + b"\x1f" + ",".join(sorted(example.categories)).encode() + b"\x1e")
    version = f"m{FORMAT}-{digest.hexdigest()[:10]}-{len(examples)}"
    meta = {"format": FORMAT, "version": version, "categories": categories,
            "examples": len(examples), "positives": fitted.counts, "seed": SEED,
            "built_with": built_with()}
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as handle:
        np.savez_compressed(
            handle,
            meta=np.array(json.dumps(meta, sort_keys=True)),
            terms=np.array(terms, dtype=str),
            idf=vectorizer.idf_.astype(np.float32),  # type: ignore[attr-defined]
            weights=(np.vstack(weights).T if weights else np.zeros((len(terms), 0))).astype(np.float32),
            intercept=np.array(intercepts, dtype=np.float64),
            calib_a=np.array(calib_a, dtype=np.float64),
            calib_b=np.array(calib_b, dtype=np.float64),
        )
    return version, fitted.counts
