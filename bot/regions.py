"""Find the region a citizen means in free text: "杭州", "我在西湖区", "浙江杭州"."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from .catalog import layers
from .normalize import normalize

LEVEL_DEPTH = {"province": 1, "city": 2, "district": 3}
_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "省", "市", "区", "县",
)


@dataclass(frozen=True)
class RegionRef:
    code: str
    name: str
    short_name: str
    level: str
    parent_code: Optional[str]
    hotline: Optional[str] = None


class RegionIndex:
    """Longest-match lookup of region names and aliases in a text."""

    def __init__(self, regions: Iterable[RegionRef], aliases: Dict[str, List[str]],
                 ambiguous: Iterable[str] = ()):
        self.by_code: Dict[str, RegionRef] = {r.code: r for r in regions}
        self.parents: Dict[str, Optional[str]] = {c: r.parent_code for c, r in self.by_code.items()}
        self._names: Dict[str, List[str]] = {}
        ambiguous = set(ambiguous)
        for r in self.by_code.values():
            names = {r.name, r.short_name, *aliases.get(r.code, [])}
            if r.level != "district":
                # 杭州市 -> 杭州; district short forms come only from the content (站前 is also a word)
                for suffix in _SUFFIXES:
                    if r.name.endswith(suffix) and len(r.name) - len(suffix) >= 2:
                        names.add(r.name[: -len(suffix)])
            if r.code in ambiguous:
                names = {n for n in names if n == r.name}
                parent = self.by_code.get(r.parent_code) if r.parent_code else None
                if parent:
                    names.add(parent.short_name + r.short_name)
            for n in names:
                n = normalize(n)
                if len(n) >= 2:
                    self._names.setdefault(n, []).append(r.code)
        self._sorted = sorted(self._names, key=len, reverse=True)

    def chain(self, code: str) -> List[RegionRef]:
        """The region and its ancestors, most specific first (:func:`bot.catalog.layers.chain`)."""
        return [self.by_code[c] for c in layers.chain(code, self.parents) if c in self.by_code]

    def chain_codes(self, code: Optional[str]) -> List[str]:
        return [r.code for r in self.chain(code)] if code else []

    def full_name(self, code: str) -> str:
        parts = [r.name for r in reversed(self.chain(code))]
        # 北京市 北京市 → 北京市
        dedup = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
        return "".join(dedup)

    def city_of(self, code: str) -> Optional[RegionRef]:
        for r in self.chain(code):
            if r.level == "city":
                return r
        return None

    def find_all(self, text: str) -> List[Tuple[int, str]]:
        """All (position, region code) matches, longest names first, no overlaps."""
        text = normalize(text)
        taken = [False] * len(text)
        found: List[Tuple[int, str]] = []
        for name in self._sorted:
            start = text.find(name)
            while start != -1:
                end = start + len(name)
                if not any(taken[start:end]):
                    for i in range(start, end):
                        taken[i] = True
                    for code in self._names[name]:
                        found.append((start, code))
                start = text.find(name, end)
        found.sort()
        return found

    def find(self, text: str) -> Optional[RegionRef]:
        """The most specific region named in the text, consistent with the others named."""
        matches = self.find_all(text or "")
        if not matches:
            return None
        codes = [c for _, c in matches]
        named = set(codes)

        provinces = {c for c in named if self.by_code[c].level == "province"}

        def score(code: str) -> Tuple[int, int, int, int]:
            ref = self.by_code[code]
            ancestors = {r.code for r in self.chain(code)[1:]}
            # a named province that is not this region's own rules it out ("北京朝阳区" is not 辽宁朝阳)
            conflicts = len(provinces - ancestors - {code})
            # then prefer the deepest region, one whose named ancestors agree, the first mentioned
            return (-conflicts, LEVEL_DEPTH.get(ref.level, 0), len(ancestors & named), -codes.index(code))

        best = max(dict.fromkeys(codes), key=score)
        return self.by_code[best]
