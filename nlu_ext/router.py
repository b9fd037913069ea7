"""Intent classifier for citizens' messages: a linear model over character
n-grams and Jieba words, which scores the whole message and its request
clauses (``bot.focus``), and a softmax calibrated so that the fallback and the
clarifying question fire when it is unsure.

A second, binary model says whether the message is for us at all (every
intent against ``out_of_scope``, whose examples include near-domain questions
for other agencies). Its probability is the confidence of ``out_of_scope`` and
scales the others: P(intent) = P(ours) x P(intent | ours). Real messages to a
bureau are often about another agency's business; without it they came out
as a confident guess at one of our services.

Trains in seconds on two cores (DIET took ~8 minutes), and its model is
plain arrays and a vocabulary (JSON + NumPy): nothing pickled.
Figures and the comparison with DIET pipelines: docs/nlu-evaluation.md.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse

from bot.focus import request_clauses

logger = logging.getLogger(__name__)

SERVICE_PREFIXES = ("marriage_", "funeral_", "elder_", "assistance_", "disability_", "child_", "adoption_")
OUT_OF_SCOPE = "out_of_scope"
MODEL_FILE = "router.npz"
VOCAB_FILE = "router.json"


def is_service_intent(name: Optional[str]) -> bool:
    return bool(name) and name.startswith(SERVICE_PREFIXES)


def _words(text: str) -> List[str]:
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


def _chars(text: str, low: int, high: int) -> Iterable[str]:
    text = text.replace(" ", "")
    for n in range(low, high + 1):
        for i in range(len(text) - n + 1):
            yield "c:" + text[i:i + n]


class RouterModel:
    """The model without Rasa: ``fit`` on texts and labels, ``proba`` for texts,
    ``rank`` for one message (whole text and request clauses)."""

    def __init__(self, config: Dict[str, Any]):
        self.config = config
        self.vocab: Dict[str, int] = {}
        self.idf = np.zeros(0)
        self.coef = np.zeros((0, 0))
        self.intercept = np.zeros(0)
        self.scope_coef = np.zeros(0)
        self.scope_intercept = 0.0
        self.labels: List[str] = []

    # features
    def _terms(self, text: str) -> Counter:
        low, high = self.config["char_ngrams"]
        terms = Counter(_chars(text.lower(), low, high))
        if self.config["words"]:
            terms.update("w:" + w for w in _words(text.lower()))
        return terms

    def _matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            for term, count in self._terms(text).items():
                c = self.vocab.get(term)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
                    vals.append(1.0 + np.log(count))  # sublinear tf
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocab)))
        m = m.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(m.multiply(1.0 / norms[:, None]))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        docs = [set(self._terms(t)) for t in texts]
        df = Counter(term for d in docs for term in d)
        self.vocab = {term: i for i, term in enumerate(sorted(df))}
        n = len(texts)
        self.idf = np.array([np.log((1 + n) / (1 + df[t])) + 1.0 for t in sorted(df)])
        clf = LinearSVC(C=self.config["C"], class_weight="balanced", random_state=self.config["random_seed"])
        features = self._matrix(texts)
        clf.fit(features, list(labels))
        self.labels = [str(c) for c in clf.classes_]
        self.coef = clf.coef_.astype(np.float32)
        self.intercept = clf.intercept_.astype(np.float32)
        outside = np.array([label == OUT_OF_SCOPE for label in labels])
        if outside.any() and not outside.all():
            scope = LogisticRegression(C=self.config["scope_C"], class_weight="balanced", max_iter=3000,
                                       random_state=self.config["random_seed"])
            scope.fit(features, outside)
            self.scope_coef = scope.coef_[0].astype(np.float32)
            self.scope_intercept = float(scope.intercept_[0])

    def outside(self, text: str) -> Optional[float]:
        """P(the message is not for us), or None without a scope model."""
        if not self.scope_coef.size:
            return None
        z = float((self._matrix([text]) @ self.scope_coef)[0]) + self.scope_intercept
        return 1.0 / (1.0 + np.exp(-z))

    # prediction
    def proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = self._matrix(texts) @ self.coef.T + self.intercept
        scores = np.asarray(scores) * self.config["temperature"]
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def rank(self, text: str) -> List[Tuple[str, float]]:
        """(intent, confidence) best first. A message whose request clauses point
        at two different services gets both at the same confidence, so the
        fallback's ambiguity test turns it into a clarifying question."""
        focus = request_clauses(text)
        p = self.proba([text, *focus])
        whole = p[0]
        if focus:
            clause_best = p[1:].max(axis=0)
            combined = self.config["whole_weight"] * whole + (1 - self.config["whole_weight"]) * (
                clause_best / clause_best.sum())
        else:
            combined = whole
        ranking = list(zip(self.labels, combined.tolist(), strict=True))
        p_out = self.outside(text)
        if p_out is not None and OUT_OF_SCOPE in self.labels:
            ours = 1.0 - dict(ranking)[OUT_OF_SCOPE]
            ranking = [(OUT_OF_SCOPE, p_out)] + [(n, c / ours * (1.0 - p_out) if ours > 0 else 0.0)
                                                 for n, c in ranking if n != OUT_OF_SCOPE]
        ranking.sort(key=lambda x: -x[1])
        services = self._clause_services(p[1:]) if focus else []
        if len(services) >= 2:
            share = self.config["multi_confidence"]
            first = [(s, share) for s in services[:2]]
            rest = [(n, c) for n, c in ranking if n not in services[:2]]
            ranking = first + rest
        return ranking

    def _clause_services(self, p: np.ndarray) -> List[str]:
        found: List[str] = []
        for row in p:
            best = int(np.argmax(row))
            name = self.labels[best]
            if is_service_intent(name) and row[best] >= self.config["multi_min"] and name not in found:
                found.append(name)
        return found

    # persistence: arrays and a vocabulary, no pickles
    def save(self, directory: Path) -> None:
        np.savez_compressed(directory / MODEL_FILE, idf=self.idf, coef=self.coef, intercept=self.intercept,
                            scope_coef=self.scope_coef, scope_intercept=np.array([self.scope_intercept]))
        (directory / VOCAB_FILE).write_text(
            json.dumps({"labels": self.labels, "terms": sorted(self.vocab, key=self.vocab.get)}, ensure_ascii=False),
            encoding="utf-8")

    @classmethod
    def restore(cls, config: Dict[str, Any], directory: Path) -> RouterModel:
        model = cls(config)
        arrays = np.load(directory / MODEL_FILE, allow_pickle=False)
        model.idf, model.coef, model.intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        model.scope_coef, model.scope_intercept = arrays["scope_coef"], float(arrays["scope_intercept"][0])
        meta = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        model.labels = meta["labels"]
        model.vocab = {t: i for i, t in enumerate(meta["terms"])}
        return model


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ServiceRouter(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "char_ngrams": [1, 2],
            "words": True,
            "C": 4.0,
            "scope_C": 10.0,
            "temperature": 4.5,
            "whole_weight": 0.5,
            "multi_min": 0.5,
            "multi_confidence": 0.4,
            "random_seed": 42,
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[RouterModel] = None):
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ServiceRouter:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ServiceRouter:
        full = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                return cls(config, model_storage, resource, RouterModel.restore(full, directory))
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("ServiceRouter: no trained model in the resource; intents will be empty")
            return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        model = RouterModel(self.config)
        if examples:
            model.fit([e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
        with self._storage.write_to(self._resource) as directory:
            model.save(directory)
        self.model = model
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if self.model is None or not self.model.labels or not text.strip():
                # as DIET does: no intent, so the fallback classifier still finds the key
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            ranking = self.model.rank(text)[: self.config["ranking_length"]]
            entries = [{"name": n, "confidence": float(c)} for n, c in ranking]
            message.set(INTENT, entries[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, entries, add_to_output=True)
        return messages
