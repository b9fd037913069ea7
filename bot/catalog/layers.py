"""One way to resolve the layers national → province → city → district.

Guides (``bot.catalog.queries``), the eligibility check (``bot.eligibility``), the
funeral checklist (``bot.funeral_checklist``), FAQ answers (``bot.faq``) and the
loader's cross-checks all ask the same two things:

* :func:`chain` — a region and its ancestors, most specific first, from the parent
  links of ``bot/content/regions/*.yml``;
* :func:`merge` — the fields of the layers along that chain, applied from the least
  to the most specific: a later layer replaces a field, appends to the ``append``
  fields, and first drops the ``reset`` fields (they describe only the layer that
  sets them). ``origin`` says which layer set each field; ``sample`` is true when
  any contributing layer is sample data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

NATIONAL = "national"

Parents = Mapping[str, Optional[str]]


def chain(code: Optional[str], parent: Callable[[str], Optional[str]] | Parents) -> List[str]:
    """``code`` and its ancestors, most specific first; empty for None. ``national`` is not included."""
    get = parent.get if isinstance(parent, Mapping) else parent
    out: List[str] = []
    current = code
    while current and current != NATIONAL and current not in out:
        out.append(current)
        current = get(current)
    return out


def with_national(codes: Sequence[str]) -> List[str]:
    """The chain followed by ``national`` (the rules files' bottom layer)."""
    return [c for c in codes if c != NATIONAL] + [NATIONAL]


@dataclass
class Resolved:
    fields: Dict[str, Any] = field(default_factory=dict)
    region: str = NATIONAL  # the most specific layer that contributed
    regions: List[str] = field(default_factory=list)  # contributing layers, least specific first
    origin: Dict[str, str] = field(default_factory=dict)  # field -> layer that set it last
    sample: bool = False


def merge(layers: Iterable[Tuple[str, Optional[Mapping[str, Any]]]], append: Sequence[str] = (),
          reset: Sequence[str] = (), sample_key: str = "sample") -> Resolved:
    """Merge ``(region, fields)`` layers given from the least to the most specific.

    Empty layers (None or ``{}``) are skipped; a layer's ``sample_key`` marks it as sample data.
    """
    out = Resolved()
    for region, layer in layers:
        if not layer:
            continue
        for key in reset:
            out.fields.pop(key, None)
            out.origin.pop(key, None)
        for key, value in layer.items():
            if key in append and isinstance(value, list):
                out.fields[key] = list(out.fields.get(key) or []) + list(value)
            else:
                out.fields[key] = value
            out.origin[key] = region
        out.region = region
        out.regions.append(region)
        out.sample = out.sample or bool(layer.get(sample_key))
    return out


def along(codes: Sequence[str], layers: Mapping[str, Optional[Mapping[str, Any]]]) -> List[Tuple[str, Any]]:
    """The layers of a chain (most specific first, as :func:`chain` gives it) in merge order."""
    return [(c, layers.get(c)) for c in reversed(list(codes))]


def first(codes: Sequence[str], values: Mapping[str, Any]) -> Tuple[Optional[Any], Optional[str]]:
    """The most specific value along the chain and its region (a section replaced whole)."""
    for c in codes:
        if values.get(c) is not None:
            return values[c], c
    return None, None


@dataclass
class LayeredRules:
    """Rules kept as layers per region code (rules/*.yml): ``merged`` resolves a chain."""

    layers: Dict[str, Dict[str, Any]]  # region -> validated layer
    labels: Dict[str, str]
    source: str = ""
    parents: Optional[Dict[str, Optional[str]]] = None  # the catalogue's region tree, when known

    def label(self, region: str) -> str:
        return self.labels.get(region, region)

    def merged(self, codes: Sequence[str], pick: Callable[[Dict[str, Any]], Optional[Mapping[str, Any]]],
               reset: Sequence[str] = ()) -> Resolved:
        """Merge ``pick(layer)`` of each layer along the chain; ``fields["sample"]`` says if any was sample."""
        r = merge(along(codes, {c: pick(layer) for c, layer in self.layers.items()}), reset=reset)
        r.fields["sample"] = r.sample
        return r
