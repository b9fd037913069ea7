"""What the citizen gets when the NLU is unsure or the question is not ours:
never a guessed guide, always the way on (issue 14)."""
from __future__ import annotations

from nlu_ext.evaluation import CLARIFY, GUIDE, REFERRAL, decide, offered


def test_out_of_scope_names_the_agency_and_offers_our_service_it_mentions(assistant):
    reply = assistant.out_of_scope("残疾证怎么办理，另外重度残疾人护理补贴能领吗")
    assert reply.kind == "out_of_scope"
    assert "残疾人联合会" in reply.text or "残联" in reply.text
    assert "disability.two_subsidies" in offered(reply)
    assert reply.buttons[-1].payload == "/ask_capabilities"


def test_out_of_scope_without_a_service_word_offers_only_the_menu(assistant):
    reply = assistant.out_of_scope("公积金怎么提取")
    assert offered(reply) == [] and "12329" in reply.text


def test_a_message_without_words_gets_the_menu_not_a_referral(assistant):
    for text in ("？？？", "😭😭", "……"):
        reply = assistant.out_of_scope(text)
        assert reply.kind == "clarify", text
        assert "不在我的服务范围" not in reply.text
        assert len(reply.buttons) >= 3  # the service menu


def test_unsure_single_service_is_offered_not_answered(assistant):
    reply = assistant.clarify(["elder.age_allowance"], "老人那个钱怎么领")
    assert reply.kind == "clarify" and offered(reply) == ["elder.age_allowance"]


def test_decide_mirrors_the_actions(assistant):
    sure = {"intent": {"name": "marriage_register", "confidence": 0.9}, "intent_ranking": []}
    assert decide(assistant, "结婚登记要带什么", sure) == (GUIDE, ["marriage.register"])
    unsure = {"intent": {"name": "nlu_fallback", "confidence": 0.45},
              "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45},
                                 {"name": "funeral_death_benefits", "confidence": 0.4},
                                 {"name": "elder_age_allowance", "confidence": 0.4}]}
    kind, services = decide(assistant, "丧葬费去哪领？高龄津贴怎么申请？", unsure)
    assert kind == CLARIFY and {"funeral.death_benefits", "elder.age_allowance"} <= set(services)
    oos = {"intent": {"name": "out_of_scope", "confidence": 0.8}, "intent_ranking": []}
    assert decide(assistant, "医保报销比例多少", oos)[0] == REFERRAL
