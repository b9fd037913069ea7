"""Issue 16 §3: one validation style for every content file, and `catalog check` covers them all.

Each file under bot/content is validated by a pydantic model; what a model cannot see
(codes defined in another file) is checked by the loader. Every problem names the file
and the dotted field.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from bot.catalog.loader import ContentError, load_content
from bot.config import CONTENT_DIR, PROJECT_ROOT

from .conftest import DELETE, set_path

EVERY_FILE = sorted(
    str(p.relative_to(CONTENT_DIR)) for p in CONTENT_DIR.rglob("*.yml")
)


def _edit(path, path_in_file, value):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    set_path(data, path_in_file, value)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_every_content_file_is_validated(content):
    validated = sorted(f.split("content/", 1)[1] for f in content.files)
    assert validated == EVERY_FILE
    assert {"rules/eligibility.yml", "rules/funeral.yml", "booking.yml", "applications.yml"} <= set(validated)


@pytest.mark.parametrize("file, path, value, expected", [
    # shapes (pydantic), in the same words for every file
    ("rules/eligibility.yml", ["regions", "zhejiang", "benefits", "elder.age_allowance", "automatic"], "yes",
     "rules/eligibility.yml: regions.zhejiang.benefits.elder.age_allowance.automatic: expected true or false"),
    ("rules/funeral.yml", ["regions", "national", "steps", "hukou", "colour"], "blue",
     "rules/funeral.yml: regions.national.steps.hukou.colour: unknown field"),
    ("booking.yml", ["offices", 0, "horizon_days"], "thirty",
     "booking.yml: offices.0.horizon_days: expected a whole number"),
    ("applications.yml", ["applications", 0, "name"], DELETE,
     "applications.yml: applications.0.name: field required"),
    ("entry_points.yml", ["entry_points", 0, "elder_mode"], "maybe",
     "entry_points.yml: entry_points.0.elder_mode: "),
    ("out_of_scope.yml", ["topics", 0, "keywords"], DELETE, "out_of_scope.yml: topics.0.keywords: field required"),
    # references between files
    ("rules/eligibility.yml", ["regions", "hunan-nowhere"], {"benefits": {}},
     "rules/eligibility.yml: regions.hunan-nowhere: unknown region code 'hunan-nowhere'"),
    ("rules/eligibility.yml", ["benefits", 5, "service"], "elder.nothing",
     "rules/eligibility.yml: benefits.5.service: unknown service code 'elder.nothing'"),
    ("rules/funeral.yml", ["regions", "zhejiang-nowhere"], {"notes": ["x"]},
     "rules/funeral.yml: regions.zhejiang-nowhere: unknown region code 'zhejiang-nowhere'"),
    ("booking.yml", ["offices", 0, "office"], "no-such-office",
     "booking.yml: offices.0.office: unknown office code 'no-such-office'"),
    ("applications.yml", ["applications", 0, "service"], "elder.nothing",
     "applications.yml: applications.0.service: unknown service code 'elder.nothing'"),
    ("applications.yml", ["applications", 0, "region"], "zhejiang-nowhere",
     "applications.yml: applications.0.region: unknown region code 'zhejiang-nowhere'"),
    ("entry_points.yml", ["entry_points", 0, "office"], "no-such-office",
     "entry_points.yml: entry_points.0.office: unknown office code 'no-such-office'"),
    ("faq/elder.yml", ["faq", 0, "service"], "elder.nothing", "faq/elder.yml: faq.0.service: "),
    ("faq/elder.yml", ["faq", 0, "regions"], {"hunan-nowhere": {"answer": "一二三四五。", "source": "测试来源"}},
     "faq/elder.yml: faq.0.regions.hunan-nowhere: unknown region code 'hunan-nowhere'"),
    ("regions/hunan.yml", ["regions", 0, "children", 0, "featured"], 1,
     "regions/zhejiang.yml: zhejiang-hangzhou.featured: position 1 is also hunan-chenzhou's"),
])
def test_problems_name_file_and_field(content_copy, file, path, value, expected):
    _edit(content_copy / file, path, value)
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_catalog_check_reports_a_broken_rules_file(content_copy):
    _edit(content_copy / "rules" / "eligibility.yml",
          ["regions", "national", "benefits", "elder.care_subsidy", "care_levels"], ["bedridden"])
    done = subprocess.run([sys.executable, "-m", "bot", "catalog", "check", "--content", str(content_copy)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert ("rules/eligibility.yml: regions.national.benefits.elder.care_subsidy.care_levels.0: "
            "unknown value 'bedridden'") in done.stderr


def test_region_names_and_amounts_are_stored_once(content):
    """The rules files repeat neither a region's name nor the amounts the guide shows."""
    raw = yaml.safe_load((CONTENT_DIR / "rules" / "eligibility.yml").read_text(encoding="utf-8"))
    funeral = yaml.safe_load((CONTENT_DIR / "rules" / "funeral.yml").read_text(encoding="utf-8"))
    for data in (raw, funeral):
        assert [c for c, layer in data["regions"].items() if c != "national" and "label" in layer] == []
    with_amounts = {(r.code, o.service) for r, _ in content.regions for o in r.overrides if o.amounts}
    services = {b["code"]: b.get("service", b["code"]) for b in raw["benefits"]}
    for code, layer in raw["regions"].items():
        for benefit, rule in layer["benefits"].items():
            if (code, services[benefit]) in with_amounts:
                assert "bands" not in rule, (code, benefit)
    # and the check gets them from the catalogue: Hangzhou's 100-year band is the guide's 800
    hz = content.eligibility["regions"]["zhejiang-hangzhou"]
    assert hz["label"] == "杭州市"
    assert hz["benefits"]["elder.age_allowance"]["bands"][-1]["monthly"] == 800
