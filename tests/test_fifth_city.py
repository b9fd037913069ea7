"""Issue 16 §3: a fifth city is a content change only.

The worked example of docs/catalogue.md ("Adding a city") is applied, block by block,
to a temporary copy of bot/content; the copy is loaded with the ordinary command
(`python -m bot --db-url ... catalog load --content <copy>`), and 岳阳 then has a local
guide, a local eligibility result, a local FAQ answer and a city button. No code is
edited: the blocks come from the document, the loader is pointed at the copy.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from bot.assistant import Assistant
from bot.catalog.queries import Catalog
from bot.config import CONTENT_DIR, PROJECT_ROOT
from bot.eligibility import ElderProfile, Status, check, render_text
from bot.guided.context import Guided

DOC = PROJECT_ROOT / "docs" / "catalogue.md"
CITY = "hunan-yueyang"
BLOCK = re.compile(r"^```yaml fifth-city (\S+)\n(.*?)^```", re.S | re.M)


def doc_blocks() -> dict:
    return {path: yaml.safe_load(body) for path, body in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def _rewrite(path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def apply_example(content) -> None:
    """What an editor does by following docs/catalogue.md, done to ``content``."""
    blocks = doc_blocks()
    assert set(blocks) == {"regions/hunan.yml", "rules/eligibility.yml", "faq/elder.yml"}

    def city(data):
        cities = data["regions"][0]["children"]
        block = blocks["regions/hunan.yml"]
        at = next(i for i, c in enumerate(cities) if c["code"] == block["code"])
        cities[at] = block  # the one-line entry becomes the full city

    def rules(data):
        data["regions"].update(blocks["rules/eligibility.yml"])

    def faq(data):
        for entry in data["faq"]:
            entry.setdefault("regions", {}).update(blocks["faq/elder.yml"].get(entry["id"], {}))

    _rewrite(content / "regions" / "hunan.yml", city)
    _rewrite(content / "rules" / "eligibility.yml", rules)
    _rewrite(content / "faq" / "elder.yml", faq)


@pytest.fixture(scope="module")
def fifth(tmp_path_factory):
    root = tmp_path_factory.mktemp("fifth_city")
    content = root / "content"
    shutil.copytree(CONTENT_DIR, content)
    apply_example(content)
    url = f"sqlite:///{root / 'catalog.db'}"
    for action in ("check", "load"):
        done = subprocess.run([sys.executable, "-m", "bot", "--db-url", url, "catalog", action, "--content",
                               str(content)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    catalog = Catalog(url, default_hotline="12345")
    return catalog, Assistant(catalog), url


def test_the_example_names_a_real_city_of_an_existing_province_flagged_as_sample():
    blocks = doc_blocks()
    city = blocks["regions/hunan.yml"]
    assert city["code"] == CITY and city["name"] == "岳阳市"
    assert all(o["sample"] for o in city["overrides"] + city["offices"])
    assert blocks["rules/eligibility.yml"][CITY]["benefits"]["elder.age_allowance"]["sample"] is True
    assert blocks["faq/elder.yml"]["elder.age_allowance.hukou"][CITY]["sample"] is True
    # without the example the city exists but has nothing local
    assert re.search(r"\{code: hunan-yueyang, name: 岳阳市", (CONTENT_DIR / "regions" / "hunan.yml").read_text("utf-8"))


def test_the_city_is_found_and_offered_as_a_button(fifth):
    catalog, assistant, _ = fifth
    assert catalog.find_region("我家老人在岳阳").code == CITY
    assert assistant.city_names() == ["杭州", "郴州", "营口", "秦皇岛", "岳阳"]
    assert "岳阳" in [b.title for b in assistant.ask_region("elder.age_allowance").buttons]


def test_local_guide(fifth):
    catalog, assistant, _ = fifth
    g = catalog.guide("elder.age_allowance", CITY, age=100)
    assert g.local_scope == "岳阳市" and g.amounts_scope == "岳阳市"
    assert g.matched_amount.monthly == 500 and g.amounts_sample and g.has_sample
    assert [o.name for o in g.offices] == ["岳阳市民政局（岳阳市政务服务中心民政窗口）"]
    text = assistant.guide("elder.age_allowance", CITY, age=100).text
    assert "岳阳市民政局" in text and "500" in text and "示例数据" in text


def test_local_eligibility_result(fifth):
    catalog, assistant, url = fifth
    rules = Guided(assistant, url).eligibility_rules()  # what the 养老补贴测算 form uses
    result = check(ElderProfile(92, CITY, True, "none", "intact", True), rules)
    b = result.benefit("elder.age_allowance")
    assert b.status is Status.ELIGIBLE and b.monthly == 100
    assert b.rule_region == CITY and b.sample and b.hukou_label == "岳阳市户籍"
    assert result.region_label == "岳阳市" and "（岳阳市标准）" in b.reason
    assert "示例数据" in render_text(result)
    # not a 岳阳 户籍: refused with the city's own note
    away = check(ElderProfile(92, CITY, False, "none", "intact", True), rules).benefit("elder.age_allowance")
    assert away.status is Status.NOT_ELIGIBLE and "岳阳市户籍" in away.reason


def test_local_faq_answer(fifth):
    _, assistant, _ = fifth
    a = assistant.select_answer("elder.age_allowance", "外地户口的老人能领高龄津贴吗", CITY)
    assert a.entry_id == "elder.age_allowance.hukou" and a.regional == CITY and a.sample
    reply = assistant.answer("elder.age_allowance", "外地户口的老人能领高龄津贴吗", CITY)
    assert "岳阳市户籍" in reply.text


def test_other_cities_are_unchanged(fifth):
    catalog, assistant, url = fifth
    rules = Guided(assistant, url).eligibility_rules()
    hz = check(ElderProfile(100, "zhejiang-hangzhou", True, "none", "intact", True), rules)
    assert hz.benefit("elder.age_allowance").monthly == 800
    a = assistant.select_answer("elder.age_allowance", "外地户口的老人能领高龄津贴吗", "hunan-chenzhou")
    assert a.regional is None
