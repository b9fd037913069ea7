"""Each custom action, run the way the action server runs it: a tracker built
with Tracker.from_dict, a CollectingDispatcher and the real domain."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions import backend


@pytest.fixture(autouse=True)
def use_test_catalog(monkeypatch, catalog_url):
    monkeypatch.setenv("MINZHENG_DB_URL", catalog_url)
    monkeypatch.setenv("MINZHENG_HOTLINE", "12345")
    backend.reset()
    yield
    backend.reset()


def make_tracker(text: str, intent: Optional[str], slots: Optional[Dict[str, Any]] = None,
                 entities: Optional[List[Dict[str, Any]]] = None,
                 ranking: Optional[List[Dict[str, Any]]] = None) -> Tracker:
    all_slots = {"service": None, "region": None, "age": None, "awaiting_region": None, "region_asked": None}
    all_slots.update(slots or {})
    return Tracker.from_dict(
        {
            "sender_id": "test-user",
            "slots": all_slots,
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9} if intent else {},
                "entities": entities or [],
                "intent_ranking": ranking or [],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action, tracker, rasa_domain):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, rasa_domain.as_dict())
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_service_without_region_answers_first_then_offers_the_cities(rasa_domain):
    msgs, slots = await run(A.ActionServiceGuide(), make_tracker("领结婚证还要户口本吗", "marriage_register"),
                            rasa_domain)
    assert len(msgs) == 1
    m = msgs[0]
    assert m["custom"]["kind"] == "guide" and m["custom"]["service"] == "marriage.register"
    first = m["text"].splitlines()[1]
    assert first.startswith("不需要户口簿")  # the answer, before anything else
    assert "依据：" in m["text"]
    assert "告诉我您在哪个城市，我再告诉您当地的办理地点和时间" in m["text"]
    titles = [b["title"] for b in m["buttons"]]
    assert titles[:5] == ["所需材料", "办理流程", "办理地点", "政策依据", "完整指南"]
    assert {"杭州", "郴州", "营口", "秦皇岛"} <= set(titles)
    assert len(m["text"]) <= 400
    assert slots["service"] == "marriage.register"
    assert slots["awaiting_region"] is True and slots["region_asked"] is True

    # the next question is answered the same way, never preceded by a question
    msgs, slots = await run(
        A.ActionServiceGuide(),
        make_tracker("离婚冷静期多少天", "marriage_divorce", {"region_asked": True}),
        rasa_domain,
    )
    assert msgs[0]["custom"]["kind"] == "guide"
    assert msgs[0]["custom"]["service"] == "marriage.divorce"
    assert msgs[0]["text"].splitlines()[1].startswith("离婚冷静期是30天")


async def test_a_generic_question_gets_the_summary(rasa_domain):
    msgs, _ = await run(A.ActionServiceGuide(), make_tracker("我想办理结婚登记", "marriage_register"), rasa_domain)
    assert "男方年满22周岁" in msgs[0]["text"] and len(msgs[0]["text"]) <= 400


async def test_full_guide_button_and_legal_basis_words(rasa_domain):
    slots = {"service": "marriage.divorce", "region": "zhejiang-hangzhou"}
    msgs, _ = await run(A.ActionServiceGuide(), make_tracker("/marriage_divorce", "marriage_divorce", slots),
                        rasa_domain)
    assert "【所需材料】" in msgs[0]["text"] and "【办理流程】" in msgs[0]["text"]  # the whole guide
    # "政策依据" has no intent of its own: any service-aware action hands it to the section action
    dispatcher = CollectingDispatcher()
    for action, intent in [(A.ActionClarify(), "nlu_fallback"), (A.ActionMenu(), "other_question"),
                           (A.ActionInformRegion(), "inform_region")]:
        events = await action.run(dispatcher, make_tracker("政策依据", intent, slots), rasa_domain.as_dict())
        assert events == [{"event": "followup", "timestamp": None, "name": "action_service_section"}]
    assert dispatcher.messages == []
    msgs, _ = await run(A.ActionServiceSection(), make_tracker("政策依据", "nlu_fallback", slots), rasa_domain)
    assert "【政策依据】" in msgs[0]["text"] and "第1077条" in msgs[0]["text"]


async def test_city_after_the_answer_gives_the_local_facts_briefly(rasa_domain):
    tracker = make_tracker("杭州", "inform_region",
                           {"service": "marriage.register", "awaiting_region": True, "region_asked": True},
                           entities=[{"entity": "region", "value": "杭州"}])
    tracker.events = [{"event": "user", "text": "结婚登记要预约吗"}, {"event": "user", "text": "杭州"}]
    msgs, slots = await run(A.ActionInformRegion(), tracker, rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "guide" and slots["region"] == "zhejiang-hangzhou"
    assert "杭州市各区婚姻登记处" in m["text"] and "浙里办" in m["text"]
    assert len(m["text"]) <= 400


async def test_service_with_region_in_message_shows_local_guide(rasa_domain):
    tracker = make_tracker("杭州西湖区结婚登记在哪里办", "marriage_register",
                           entities=[{"entity": "region", "value": "西湖区"}])
    msgs, slots = await run(A.ActionServiceGuide(), tracker, rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "guide" and m["custom"]["service"] == "marriage.register"
    assert slots["region"] == "zhejiang-hangzhou-xihu"
    assert "杭州市" in m["text"] and "办理地点" in m["text"]
    assert "婚姻登记" in m["text"]
    titles = [b["title"] for b in m["buttons"]]
    assert titles == ["所需材料", "办理流程", "办理地点", "政策依据", "完整指南", "预约结婚登记"]


async def test_region_answer_completes_the_pending_question(rasa_domain):
    tracker = make_tracker("我在郴州", "inform_region",
                           {"service": "elder.age_allowance", "awaiting_region": True, "region_asked": True,
                            "age": 85.0},
                           entities=[{"entity": "region", "value": "郴州"}])
    msgs, slots = await run(A.ActionInformRegion(), tracker, rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "guide" and m["custom"]["service"] == "elder.age_allowance"
    assert slots["region"] == "hunan-chenzhou"
    assert slots["awaiting_region"] is False
    assert "郴州" in m["text"]
    assert "示例数据" in m["text"]  # Chenzhou figures are unverified sample data


async def test_region_answer_without_pending_question_is_remembered(rasa_domain):
    msgs, slots = await run(A.ActionInformRegion(), make_tracker("浙江杭州", "inform_region"), rasa_domain)
    assert slots["region"] == "zhejiang-hangzhou"
    assert msgs[0]["custom"]["kind"] == "region_set"
    assert "杭州市" in msgs[0]["text"]


async def test_unrecognised_region_is_asked_again(rasa_domain):
    tracker = make_tracker("火星", "inform_region", {"service": "assistance.dibao", "awaiting_region": True})
    msgs, slots = await run(A.ActionInformRegion(), tracker, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "ask_region"
    assert "region" not in slots


async def test_skip_shows_national_guide(rasa_domain):
    tracker = make_tracker("跳过", "skip", {"service": "assistance.dibao", "awaiting_region": True})
    msgs, slots = await run(A.ActionInformRegion(), tracker, rasa_domain)
    assert msgs[0]["custom"]["service"] == "assistance.dibao"
    assert "全国通用" in msgs[0]["text"]
    assert slots["awaiting_region"] is False


async def test_age_in_message_picks_the_allowance_band(rasa_domain):
    tracker = make_tracker("我奶奶九十二岁了，杭州高龄津贴每个月多少", "elder_age_allowance",
                           entities=[{"entity": "age", "value": "九十二岁"}, {"entity": "region", "value": "杭州"}])
    msgs, slots = await run(A.ActionServiceGuide(), tracker, rasa_domain)
    text = msgs[0]["text"]
    assert slots["age"] == 92
    assert "按92岁计算" in text and "每月100元" in text
    assert "免申即享" in text


@pytest.mark.parametrize("intent,section,heading", [
    ("ask_materials", "materials", "所需材料"),
    ("ask_steps", "steps", "办理流程"),
    ("ask_location", "location", "办理地点"),
])
async def test_follow_up_sections(rasa_domain, intent, section, heading):
    tracker = make_tracker("/" + intent, intent, {"service": "funeral.after_death", "region": "liaoning-yingkou"})
    msgs, _ = await run(A.ActionServiceSection(), tracker, rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "section" and m["custom"]["service"] == "funeral.after_death"
    assert heading in m["text"]
    others = {"所需材料", "办理流程", "办理地点"} - {heading}
    assert not any(f"【{o}】" in m["text"] for o in others)


async def test_follow_up_without_service_asks_which(rasa_domain):
    msgs, _ = await run(A.ActionServiceSection(), make_tracker("要带什么材料", "ask_materials"), rasa_domain)
    assert msgs[0]["custom"]["kind"] == "which_service"
    assert msgs[0]["buttons"]


async def test_out_of_scope_names_the_agency(rasa_domain):
    msgs, _ = await run(A.ActionOutOfScope(), make_tracker("公积金怎么提取", "out_of_scope"), rasa_domain)
    text = msgs[0]["text"]
    assert "不在我的服务范围" in text and "公积金" in text and "12329" in text
    assert msgs[0]["custom"]["service"] is None


async def test_clarify_offers_likely_services(rasa_domain):
    ranking = [{"name": "elder_service_subsidy", "confidence": 0.31},
               {"name": "elder_care_subsidy", "confidence": 0.29},
               {"name": "greet", "confidence": 0.2}]
    msgs, _ = await run(A.ActionClarify(), make_tracker("老人补贴", "nlu_fallback", ranking=ranking), rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "clarify"
    payloads = [b["payload"] for b in m["buttons"]]
    assert payloads[:2] == ["/elder_service_subsidy", "/elder_care_subsidy"]
    assert "/greet" not in payloads


async def test_clarify_for_emoji_only_message(rasa_domain):
    msgs, _ = await run(A.ActionClarify(), make_tracker("😀😀", "nlu_fallback"), rasa_domain)
    assert msgs[0]["custom"]["kind"] == "clarify"
    assert "没能理解" in msgs[0]["text"]


async def test_handoff_gives_hotline(rasa_domain, monkeypatch):
    async def nobody():
        return False

    monkeypatch.setattr(backend, "staff_online", nobody)
    msgs, _ = await run(A.ActionHumanHandoff(), make_tracker("转人工", "human_handoff",
                                                            {"region": "hebei-qinhuangdao"}), rasa_domain)
    assert "12345" in msgs[0]["text"] and "秦皇岛" in msgs[0]["text"]


async def test_handoff_is_queued_when_staff_are_signed_in(rasa_domain, tmp_path, monkeypatch):
    from bot.catalog.loader import load_content, write_catalog
    from bot.catalog.migrate import upgrade
    from bot.config import CONTENT_DIR
    from bot.console.auth import StaffAuth

    url = f"sqlite:///{tmp_path / 'own.db'}"  # a database of its own: no other test's sessions
    upgrade(url)
    write_catalog(url, load_content(CONTENT_DIR))
    monkeypatch.setenv("MINZHENG_DB_URL", url)
    monkeypatch.setenv("MINZHENG_HANDOFF_WAIT_MINUTES", "3")
    backend.reset()
    tracker = make_tracker("转人工", "human_handoff", {"region": "hebei-qinhuangdao"})
    msgs, _ = await run(A.ActionHumanHandoff(), tracker, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "handoff"  # nobody signed in: the hotline
    auth = StaffAuth(url)
    auth.add_account("duty.op", "duty password 1")
    assert auth.login("duty.op", "duty password 1", "127.0.0.1").ok
    msgs, _ = await run(A.ActionHumanHandoff(), tracker, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "handoff"  # no channel named: cannot carry a handoff
    for channel in ("web", "telegram"):
        tracker.latest_message["metadata"] = {"channel": channel}
        msgs, _ = await run(A.ActionHumanHandoff(), tracker, rasa_domain)
        assert msgs[0]["custom"]["kind"] == "handoff_queued"
    assert "转接人工" in msgs[0]["text"] and "3分钟" in msgs[0]["text"]


async def test_menu_lists_all_domains(rasa_domain):
    msgs, _ = await run(A.ActionMenu(), make_tracker("你能做什么", "ask_capabilities"), rasa_domain)
    for word in ("婚姻登记", "殡葬服务", "养老服务", "社会救助", "临时救助"):
        assert word in msgs[0]["text"]


async def test_greeting_gets_the_welcome_with_the_catalogues_menu(rasa_domain):
    """The same welcome as the web chat's page (Telegram's /start, WeChat's subscribe)."""
    msgs, _ = await run(A.ActionGreet(), make_tracker("你好", "greet"), rasa_domain)
    menu = [b.payload for b in backend.assistant().menu_buttons()]
    assert len(msgs) == 1 and msgs[0]["custom"]["kind"] == "welcome"
    assert msgs[0]["text"].startswith("您好")
    assert [b["payload"] for b in msgs[0]["buttons"]] == menu + ["/ask_capabilities"]
    assert len(menu) >= 3


async def test_a_greeting_with_the_backend_down_gets_the_basic_welcome(rasa_domain, monkeypatch):
    monkeypatch.setenv("MINZHENG_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    backend.reset()
    msgs, _ = await run(A.ActionGreet(), make_tracker("你好", "greet"), rasa_domain)
    assert len(msgs) == 1 and msgs[0]["text"].startswith("您好") and "Error" not in msgs[0]["text"]
    assert [b["payload"] for b in msgs[0]["buttons"]] == ["/ask_capabilities"]


async def test_backend_down_gives_apology_with_hotline(rasa_domain, monkeypatch):
    # a PostgreSQL port where nothing listens
    monkeypatch.setenv("MINZHENG_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    backend.reset()
    for action, intent in [(A.ActionServiceGuide(), "marriage_register"), (A.ActionMenu(), "ask_capabilities"),
                           (A.ActionInformRegion(), "inform_region")]:
        msgs, slots = await run(action, make_tracker("杭州结婚登记", intent), rasa_domain)
        assert len(msgs) == 1
        assert "抱歉" in msgs[0]["text"] and "12345" in msgs[0]["text"]
        assert "Traceback" not in msgs[0]["text"] and "Error" not in msgs[0]["text"]
        assert "service" not in slots and "region" not in slots


async def test_clarify_with_a_single_service_asks_to_confirm_it(rasa_domain):
    # NLU unsure (0.4): the one likely service is offered, not answered as if it were certain
    ranking = [{"name": "marriage_divorce", "confidence": 0.4}, {"name": "greet", "confidence": 0.3}]
    msgs, slots = await run(A.ActionClarify(), make_tracker("冷静期到底多少天", "nlu_fallback", ranking=ranking),
                            rasa_domain)
    assert msgs[0]["custom"]["kind"] == "clarify" and "service" not in slots
    assert [b["payload"] for b in msgs[0]["buttons"]] == ["/marriage_divorce", "/other_question"]


async def test_clarify_names_the_agency_of_a_near_domain_topic(rasa_domain):
    ranking = [{"name": "assistance_temporary", "confidence": 0.3}]
    msgs, _ = await run(A.ActionClarify(), make_tracker("大病救助去哪里报销", "nlu_fallback", ranking=ranking),
                        rasa_domain)
    assert msgs[0]["custom"]["kind"] == "clarify"
    assert "医疗保障部门" in msgs[0]["text"] and "12393" in msgs[0]["text"]
