"""FAQ content (bot/content/faq): loading with errors that name file and field,
and choosing the entry that answers a message."""
from __future__ import annotations

from collections import Counter

import pytest
import yaml

from bot.catalog.loader import ContentError, load_content
from bot.faq import Faq, FaqIndex

from .conftest import DELETE, set_path

FAQ_FILE = "faq/marriage.yml"


def test_every_service_has_at_least_eight_entries(content):
    counts = Counter(e.service for e in content.faq)
    assert set(counts) == {s.code for s in content.services}
    assert min(counts.values()) >= 8 and sum(counts.values()) >= 120
    for e in content.faq:
        assert e.legal_basis and 2 <= len(e.questions) <= 5


def test_the_corrected_facts(content):
    by_id = {e.id: e for e in content.faq}
    assert "不需要户口簿" in by_id["marriage.register.hukou"].answer
    assert "受理" in by_id["marriage.divorce.collect_where"].answer
    assert "2015" in by_id["marriage.reissue.single_certificate"].answer
    assert "5万" in by_id["funeral.after_death.bank"].answer and "每家银行" in by_id["funeral.after_death.bank"].answer
    titles = {lb.title for lb in by_id["funeral.death_benefits.grant"].legal_basis}
    assert "企业职工基本养老保险遗属待遇暂行办法" in titles
    # the revised 殡葬管理条例 (in force 2026-03-30) is cited without the old article numbers
    for e in content.faq:
        for lb in e.legal_basis:
            if lb.title == "殡葬管理条例":
                assert lb.article is None, e.id
    assert "特困" in by_id["elder.care_subsidy.excluded"].answer
    assert by_id["funeral.after_death.one_thing"].regions["zhejiang-hangzhou"].sample


def _broken(content_copy, path, value):
    f = content_copy / FAQ_FILE
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    set_path(data, path, value)
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    return err.value.problems


@pytest.mark.parametrize("path,value,expected", [
    (["faq", 0, "answer"], DELETE, "faq.0.answer: field required"),
    (["faq", 1, "service"], "marriage.divorce", "faq.1.service: the id 'marriage.register.hukou' must start with"),
    (["faq", 1], {"id": "marriage.nonexistent.x", "service": "marriage.nonexistent", "questions": ["一", "二"],
                  "answer": "不存在的业务。", "legal_basis": [{"title": "无此规定"}]},
     "faq.1.service: unknown service code 'marriage.nonexistent'"),
    (["faq", 2, "questions"], ["只有一个问法"], "faq.2.questions: ensure this value has at least 2 items"),
    (["faq", 3, "local"], ["weather"], "faq.3.local.0: must be one of offices"),
    (["faq", 4, "regions"], {"atlantis": {"answer": "不存在的地方", "source": "nowhere"}},
     "faq.4.regions.atlantis: unknown region code 'atlantis'"),
    (["faq", 5, "id"], "marriage.register.age", "faq.5.id: duplicate FAQ id 'marriage.register.age'"),
    (["faq", 6, "answer"], "第一句。第二句。第三句。第四句。", "faq.6.answer: 4 sentences"),
    (["faq", 7, "legal_basis"], [], "faq.7.legal_basis: ensure this value has at least 1 items"),
    # YAML reads a bare 520 as a number: a keyword must be written as text ("520")
    (["faq", 0, "keywords"], ["预约", 520], "faq.0.keywords.1: expected a non-empty text"),
])
def test_broken_faq_names_file_and_field(content_copy, path, value, expected):
    problems = _broken(content_copy, path, value)
    assert any(f"content/faq/marriage.yml: {expected}" in p for p in problems), problems


def test_invalid_yaml_names_the_file(content_copy):
    (content_copy / FAQ_FILE).write_text("faq:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any("content/faq/marriage.yml: line" in p and "not valid YAML" in p
               for p in err.value.problems)


def _index():
    entries = [
        Faq("marriage.register.age", "marriage.register", ["法定结婚年龄是多少", "男的多大能领证"],
            ["年龄", "多大", "周岁"], "男22女20。", [{"title": "民法典"}]),
        Faq("marriage.register.fee", "marriage.register", ["领证要钱吗", "结婚登记收费吗"],
            ["钱", "收费"], "不收费。", [{"title": "条例"}]),
        Faq("marriage.divorce.fee", "marriage.divorce", ["离婚要钱吗", "离婚收费吗"], ["钱", "收费"],
            "不收费。", [{"title": "条例"}]),
    ]
    return FaqIndex(entries, service_terms={"marriage.register": ["结婚登记", "领证", "结婚"],
                                            "marriage.divorce": ["离婚"]})


def test_selection_picks_the_entry_of_the_routed_service():
    index = _index()
    assert index.select("男方21周岁能登记结婚吗", "marriage.register").faq.id == "marriage.register.age"
    assert index.select("結婚登記收不收費", "marriage.register").faq.id == "marriage.register.fee"  # Traditional
    assert index.select("离婚收费不", "marriage.divorce").faq.id == "marriage.divorce.fee"
    assert index.select("领证收费吗", "marriage.divorce") is None or \
        index.select("领证收费吗", "marriage.divorce").faq.service == "marriage.divorce"


def test_selection_gives_nothing_for_a_generic_message():
    index = _index()
    assert index.select("结婚登记", "marriage.register") is None  # only the service's own name
    assert index.select("你好", "marriage.register") is None
    assert index.select("", "marriage.register") is None
    assert index.select("收费吗", "elder.age_allowance") is None  # no entries for that service


def test_regional_answer_overrides_the_national_one(catalog):
    entry = catalog.faq().by_id["elder.age_allowance.apply_needed"]
    chain = [r.code for r in catalog.region_index().chain("zhejiang-hangzhou-xihu")]
    local = entry.answer_for(chain)
    assert local.regional == "zhejiang" and local.text.startswith("不用申请")
    assert entry.answer_for([]).text.startswith("看当地")
    assert entry.answer_for(["hunan-chenzhou", "hunan"]).regional is None


def test_operator_answer_for_the_console(assistant):
    got = assistant.operator_answer("marriage.divorce", "冷静期能撤回吗")
    assert got["id"] == "marriage.divorce.withdraw" and got["text"].startswith("可以撤回")
    assert got["legal"].startswith("依据：") and "第1077条" in got["legal"]
    assert assistant.operator_answer("marriage.divorce", "离婚") is None


@pytest.mark.parametrize("text,entry", [
    # a complaint that the decision is late is about the time limit, not where to apply
    ("为什么我申请的低保半年了都没批，打电话也没人接", "assistance.dibao.time"),
    ("低保交上去三个月了还没消息", "assistance.dibao.time"),
    ("低保在哪申请", "assistance.dibao.where"),
    ("低保没批下来怎么办", "assistance.dibao.rejected"),
])
def test_real_content_picks_the_entry_that_answers(catalog, text, entry):
    match = catalog.faq().select(text, "assistance.dibao")
    assert match is not None and match.faq.id == entry


def test_the_dibao_time_limit_is_the_national_one(catalog):
    answer = catalog.faq().select("低保多久能批下来", "assistance.dibao").faq.answer
    assert "30个工作日" in answer and "45个工作日" in answer
