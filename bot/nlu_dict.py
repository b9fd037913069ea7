"""Jieba user dictionary of place names, generated from the catalogue content
so that every region the catalogue knows is one token for the tokenizer.

    python -m bot nlu-dict        # rewrites nlu_ext/jieba/places.txt
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List

from .catalog.loader import Content
from .config import PROJECT_ROOT

PLACES_FILE = PROJECT_ROOT / "nlu_ext" / "jieba" / "places.txt"
HEADER = ""  # jieba reads every line as a word: no comment lines


def place_names(content: Content) -> List[str]:
    names = set()
    for region, _parent in content.regions:
        for n in (region.name, region.short_name, *region.aliases):
            if len(n) >= 2:
                names.add(n)
    return sorted(names)


def render(names: Iterable[str]) -> str:
    return HEADER + "".join(f"{n} 1000 ns\n" for n in names)


def write(content: Content, path: Path = PLACES_FILE) -> int:
    names = place_names(content)
    path.write_text(render(names), encoding="utf-8")
    return len(names)
