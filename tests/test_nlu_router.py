"""The NLU pieces of issue 14 without a trained Rasa model: request clauses,
the router's ranking (two services asked -> both, scope model), the place and
age extractor, and the routing measure used on real messages."""
from __future__ import annotations

import pytest

from bot.focus import clauses, request_clauses
from nlu_ext.entities import extract, find_places
from nlu_ext.evaluation import CLARIFY, GUIDE, REFERRAL, Routed
from nlu_ext.router import RouterModel, ServiceRouter, is_service_intent


def test_request_clauses_skip_the_story_and_the_greeting():
    text = "尊敬的领导：您好！我母亲今年八十二岁，一直一个人住在村里。请问她能领高龄津贴吗？"
    assert "尊敬的领导" not in "".join(clauses(text))
    assert request_clauses(text)[-1] == "请问她能领高龄津贴吗？"
    assert request_clauses("结婚登记要带什么") == []  # one sentence is its own request


def test_request_clauses_keep_each_question_of_a_multi_part_message():
    text = "我父亲上个月去世了，丧葬费去哪里领？另外我母亲八十岁了，高龄津贴怎么申请？"
    focus = request_clauses(text)
    assert any("丧葬费" in c for c in focus) and any("高龄津贴" in c for c in focus)


DATA = {
    "marriage_register": ["结婚登记要带什么材料", "我们想去领结婚证", "领证需要户口本吗", "结婚证怎么办理",
                          "登记结婚去哪里办", "想和女朋友去领证"],
    "elder_age_allowance": ["高龄津贴怎么申请", "八十岁老人有高龄补贴吗", "高龄补贴多少钱一个月",
                            "老人高龄津贴在哪里领", "我妈九十岁了能领高龄津贴吗", "高龄津贴发放标准"],
    "funeral_death_benefits": ["丧葬补助金去哪里领", "父亲去世了抚恤金怎么领", "退休职工去世丧葬费",
                               "亲人去世后社保的丧葬补助", "抚恤金领取需要什么材料", "丧葬费和抚恤金标准"],
    "out_of_scope": ["公积金怎么提取", "明天天气怎么样", "医保报销比例是多少", "驾照换证去哪里",
                     "社保卡丢了怎么补", "户口迁移要什么手续", "物业费太贵了", "护照怎么办"],
    "greet": ["你好", "您好", "在吗", "早上好", "喂你好", "哈喽"],
}


@pytest.fixture(scope="module")
def model():
    texts = [t for ts in DATA.values() for t in ts]
    labels = [k for k, ts in DATA.items() for _ in ts]
    m = RouterModel({**ServiceRouter.get_default_config(), "words": False})
    m.fit(texts, labels)
    return m


def test_router_ranks_a_plain_question(model):
    assert model.rank("领结婚证要带啥")[0][0] == "marriage_register"


def test_two_services_asked_are_both_offered_at_the_same_confidence(model):
    ranking = model.rank("我父亲去世了，丧葬补助金去哪里领？另外我母亲八十八岁了，高龄津贴怎么申请？")
    top = {ranking[0][0], ranking[1][0]}
    assert top == {"funeral_death_benefits", "elder_age_allowance"}
    assert ranking[0][1] == ranking[1][1] < 0.45  # below the fallback threshold: the clarifying question


def test_scope_model_gives_out_of_scope_its_own_probability(model):
    ranking = dict(model.rank("公积金提取要什么手续"))
    assert ranking["out_of_scope"] > 0.5
    assert abs(sum(ranking.values()) - 1.0) < 1e-6


def test_model_round_trips_through_arrays_without_pickle(model, tmp_path):
    model.save(tmp_path)
    again = RouterModel.restore(model.config, tmp_path)
    assert again.rank("高龄补贴怎么领") == model.rank("高龄补贴怎么领")


def test_service_intents_are_the_catalogue_domains():
    assert is_service_intent("assistance_dibao") and is_service_intent("adoption_register")
    assert not is_service_intent("out_of_scope") and not is_service_intent("greet") and not is_service_intent(None)


def test_places_are_merged_into_one_mention_and_ages_found():
    text = "我在湖南郴州，奶奶今年85岁了"
    ents = extract(text)
    assert [(e["entity"], e["value"]) for e in ents] == [("region", "湖南郴州"), ("age", "85岁")]
    assert find_places("杭州西湖区和营口") == [(0, 5), (6, 8)]
    assert extract("/greet") == [] and extract("") == []


def routed(label, kind, services):
    return Routed("t", label, "plain", "x", 0.5, kind, services)


def test_routing_measure():
    assert routed("marriage.register", GUIDE, ["marriage.register"]).right
    assert routed("marriage.register", CLARIFY, ["marriage.divorce", "marriage.register"]).right
    assert routed("marriage.register", REFERRAL, ["marriage.register"]).right
    wrong = routed("marriage.register", GUIDE, ["marriage.divorce"])
    assert not wrong.right and wrong.wrong_guide
    assert routed("none", CLARIFY, ["elder.institution"]).right
    assert routed("none", GUIDE, ["elder.institution"]).wrong_guide
