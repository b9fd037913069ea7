"""The catalogue: content validation, loading, and guides with regional overrides."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from bot.catalog.loader import ContentError, load_content, write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog
from bot.config import PROJECT_ROOT

CODES = {
    "marriage.register", "marriage.divorce", "marriage.reissue",
    "funeral.after_death", "funeral.fee_waiver", "funeral.death_benefits", "funeral.eco_burial",
    "elder.age_allowance", "elder.service_subsidy", "elder.care_subsidy", "elder.assessment",
    "elder.home_adaptation", "elder.institution",
    "assistance.dibao", "assistance.temporary",
}
SAMPLE_CITIES = {"zhejiang-hangzhou": "杭州", "hunan-chenzhou": "郴州",
                 "liaoning-yingkou": "营口", "hebei-qinhuangdao": "秦皇岛"}


# -- the real content ------------------------------------------------------------

def test_every_service_code_is_present_with_sources(content):
    assert {s.code for s in content.services} >= CODES
    for s in content.services:
        assert s.legal_basis, s.code
        assert s.steps and s.materials and s.conditions, s.code
        assert s.source and s.last_checked, s.code


def test_sample_cities_have_offices_for_each_domain(catalog):
    for code in SAMPLE_CITIES:
        for service in ("marriage.register", "funeral.after_death", "elder.age_allowance", "assistance.dibao"):
            g = catalog.guide(service, code)
            assert g.offices, (code, service)
            assert all(o.address and o.hours for o in g.offices)


def test_national_marriage_rules(catalog):
    g = catalog.guide("marriage.register")
    text = " ".join([g.summary, *g.conditions, *g.materials, *g.notes])
    assert "22" in text and "20" in text
    assert "身份证" in text
    assert any("1047" in (lb.get("article") or "") for lb in g.legal_basis)
    assert g.region is None and g.offices == []


def test_divorce_has_the_cooling_off_period(catalog):
    g = catalog.guide("marriage.divorce")
    text = " ".join([g.summary, *g.steps, g.time_limit, *g.notes])
    assert "冷静期" in text and "30" in text
    assert any("1077" in (lb.get("article") or "") for lb in g.legal_basis)


# -- regional overrides ------------------------------------------------------------

@pytest.mark.parametrize("age,expected", [(80, 60), (85, 60), (89, 60), (90, 100), (99, 100), (100, 800), (104, 800)])
def test_hangzhou_age_allowance_bands(catalog, age, expected):
    g = catalog.guide("elder.age_allowance", "zhejiang-hangzhou", age)
    assert g.matched_amount is not None and g.matched_amount.monthly == expected
    assert g.automatic is True
    assert g.amounts_sample is False


def test_below_the_allowance_age(catalog):
    g = catalog.guide("elder.age_allowance", "zhejiang-hangzhou", 79)
    assert g.matched_amount is None and g.below_min_age == 80


def test_district_inherits_city_rules_and_offices(catalog):
    city = catalog.guide("elder.age_allowance", "zhejiang-hangzhou", 95)
    district = catalog.guide("elder.age_allowance", "zhejiang-hangzhou-xihu", 95)
    assert district.matched_amount == city.matched_amount
    assert district.offices  # its own or the city's
    assert district.region_full_name == "浙江省杭州市西湖区"


def test_city_without_local_data_gets_province_rules(catalog):
    g = catalog.guide("elder.age_allowance", "zhejiang-ningbo", 85)
    assert g.local_scope == "浙江省"
    assert g.matched_amount is not None and g.matched_amount.monthly >= 60
    assert g.offices == []


def test_unsourced_local_figures_are_flagged_as_sample(catalog):
    g = catalog.guide("elder.age_allowance", "hunan-chenzhou", 85)
    assert g.amounts and g.amounts_sample is True
    assert g.has_sample


def test_region_without_any_local_data(catalog):
    beijing = catalog.find_region("北京")
    assert beijing is not None
    g = catalog.guide("assistance.dibao", beijing.code)
    assert not g.has_local_data
    assert g.hotline == "12345"


@pytest.mark.parametrize("text,code", [
    ("杭州", "zhejiang-hangzhou"),
    ("我在西湖区", "zhejiang-hangzhou-xihu"),
    ("浙江杭州", "zhejiang-hangzhou"),
    ("浙江省杭州市余杭区", "zhejiang-hangzhou-yuhang"),
    ("郴州市北湖区", "hunan-chenzhou-beihu"),
    ("營口鮁魚圈", "liaoning-yingkou-bayuquan"),
    ("秦皇岛海港区", "hebei-qinhuangdao-haigang"),
    ("户口在郴州，人在杭州", "hunan-chenzhou"),
])
def test_find_region(catalog, text, code):
    ref = catalog.find_region(text)
    assert ref is not None and ref.code == code


@pytest.mark.parametrize("text", ["", "结婚登记要带什么", "😀", "今天天气怎么样"])
def test_find_region_none(catalog, text):
    assert catalog.find_region(text) is None


def test_out_of_scope_topics(catalog):
    assert "公积金" in catalog.out_of_scope_topic("我想提取住房公积金").agency
    assert catalog.out_of_scope_topic("护照过期了怎么换").hotline == "12367"
    assert catalog.out_of_scope_topic("结婚登记") is None


def test_keyword_lookup(catalog):
    codes = [s.code for s in catalog.services_by_keyword("高龄津贴")]
    assert codes and codes[0] == "elder.age_allowance"


# -- loading and validation ----------------------------------------------------------

def _edit(path, fn):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_missing_field_names_file_and_field(content_copy):
    _edit(content_copy / "services" / "marriage.yml", lambda d: d["services"][0].pop("materials"))
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    assert any(p.startswith("content/services/marriage.yml: services.0.materials:") or
               "services/marriage.yml: services.0.materials" in p for p in exc.value.problems)


def test_unknown_service_in_office_is_reported(content_copy):
    def break_office(d):
        city = d["regions"][0]["children"][0]
        holder = city if city.get("offices") else d["regions"][0]
        holder["offices"][0]["services"].append("marriage.nonexistent")
    _edit(content_copy / "regions" / "hebei.yml", break_office)
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    msg = str(exc.value)
    assert "regions/hebei.yml" in msg and "offices.0.services" in msg and "marriage.nonexistent" in msg


def test_syntax_error_names_the_line(content_copy):
    path = content_copy / "services" / "elder.yml"
    path.write_text("services:\n  - code: elder.x\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    assert any("services/elder.yml: line" in p and "not valid YAML" in p for p in exc.value.problems)


def test_unknown_key_and_bad_code_are_rejected(content_copy):
    def bad(d):
        d["services"][0]["colour"] = "blue"
        d["services"][1]["code"] = "Not A Code"
    _edit(content_copy / "services" / "funeral.yml", bad)
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    msg = str(exc.value)
    assert "services.0.colour: unknown field" in msg
    assert "services.1.code: must look like 'domain.name'" in msg


def test_duplicate_region_code(content_copy):
    def dup(d):
        d["regions"].append(dict(d["regions"][0], children=[], overrides=[], offices=[]))
    _edit(content_copy / "regions" / "liaoning.yml", dup)
    with pytest.raises(ContentError, match="duplicate region code 'liaoning'"):
        load_content(content_copy)


def test_reload_replaces_the_catalogue(tmp_path, content):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    first = write_catalog(url, content)
    second = write_catalog(url, content)
    assert first == second
    assert Catalog(url).guide("assistance.dibao").service.name


def test_cli_check_reports_errors(content_copy):
    _edit(content_copy / "services" / "assistance.yml", lambda d: d["services"][0].pop("steps"))
    proc = subprocess.run([sys.executable, "-m", "bot", "catalog", "check", "--content", str(content_copy)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "services/assistance.yml: services.0.steps: field required" in proc.stderr


@pytest.mark.parametrize("text,code", [
    ("我在北京朝阳区", "beijing"),
    ("辽宁朝阳", "liaoning-chaoyang"),
    ("营口站前区", "liaoning-yingkou-zhanqian"),
    ("营口站前", "liaoning-yingkou-zhanqian"),
    ("我在西湖", "zhejiang-hangzhou-xihu"),
])
def test_find_region_disambiguation(catalog, text, code):
    ref = catalog.find_region(text)
    assert ref is not None and ref.code == code


@pytest.mark.parametrize("text", ["火车站前面有个老人摔倒了", "去海港看船"])
def test_common_words_are_not_places(catalog, text):
    assert catalog.find_region(text) is None


def test_jieba_place_dictionary_matches_the_catalogue(content):
    from bot import nlu_dict

    expected = nlu_dict.render(nlu_dict.place_names(content))
    assert nlu_dict.PLACES_FILE.read_text(encoding="utf-8") == expected, "run `python -m bot nlu-dict`"
