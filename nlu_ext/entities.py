"""Entity extractor for the two entities read from text: ``region`` (every
place name the catalogue knows, from the generated Jieba dictionary
``nlu_ext/jieba/places.txt``) and ``age`` (``bot.ages.find_age``).

Deterministic: no training, and a place added to the catalogue is recognised
as soon as the dictionary is regenerated (``python -m bot nlu-dict``).
Adjacent names are one mention ("湖南郴州", "秦皇岛海港区"), so the action
resolves the most specific place (``bot.regions``).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.ages import find_age

PLACES = Path(__file__).resolve().parent / "jieba" / "places.txt"
# what may join two place names into one mention ("湖南省郴州市", "湖南的郴州")
JOINERS = "省市 "


@lru_cache(maxsize=1)
def place_names() -> Tuple[str, ...]:
    names = {line.split()[0] for line in PLACES.read_text(encoding="utf-8").splitlines() if line.strip()}
    return tuple(sorted(names, key=len, reverse=True))


def find_places(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each place mention, longest names first, adjacent names merged."""
    taken = [False] * len(text)
    spans: List[Tuple[int, int]] = []
    for name in place_names():
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(name)
                spans.append((start, end))
            start = text.find(name, end)
    spans.sort()
    merged: List[Tuple[int, int]] = []
    for start, end in spans:
        if merged and all(ch in JOINERS for ch in text[merged[-1][1]:start]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def extract(text: str) -> List[Dict[str, Any]]:
    if not text or text.startswith("/"):
        return []
    found = [{"entity": "region", "start": s, "end": e, "value": text[s:e]} for s, e in find_places(text)]
    age = find_age(text)
    if age is not None:
        start, end, _ = age
        if not any(start < f["end"] and f["start"] < end for f in found):
            found.append({"entity": "age", "start": start, "end": end, "value": text[start:end]})
    return sorted(found, key=lambda e: e["start"])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PlaceAgeExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> PlaceAgeExtractor:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = self.add_extractor_name(extract(message.get(TEXT) or ""))
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
