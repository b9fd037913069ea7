"""The menu buttons and the city buttons come from the content (`menu:` in services/*.yml,
`featured:` in regions/*.yml), not from lists in code (issue 16 §2/§3)."""
from __future__ import annotations

import yaml

from bot.assistant import Assistant
from bot.catalog.loader import load_content, write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog


def test_menu_and_city_buttons_follow_the_content(assistant):
    assert [b.payload for b in assistant.menu_buttons()] == [
        "/marriage_register", "/marriage_divorce", "/funeral_after_death", "/elder_age_allowance",
        "/elder_care_subsidy", "/assistance_dibao"]
    assert assistant.city_names() == ["杭州", "郴州", "营口", "秦皇岛"]
    assert [b.title for b in assistant.ask_region("assistance.dibao").buttons] == ["杭州", "郴州", "营口", "秦皇岛",
                                                                                  "跳过"]


def test_a_new_service_on_the_menu_is_a_content_change(tmp_path, content_copy):
    path = content_copy / "services" / "assistance.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tekun = next(s for s in data["services"] if s["code"] == "assistance.tekun")
    tekun["menu"] = 7
    dibao = next(s for s in data["services"] if s["code"] == "assistance.dibao")
    del dibao["menu"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    hunan = content_copy / "regions" / "hunan.yml"
    data = yaml.safe_load(hunan.read_text(encoding="utf-8"))
    data["regions"][0]["children"][0]["featured"] = 9  # 郴州 last
    hunan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    url = f"sqlite:///{tmp_path / 'menu.db'}"
    upgrade(url)
    write_catalog(url, load_content(content_copy))
    assistant = Assistant(Catalog(url))
    payloads = [b.payload for b in assistant.menu_buttons()]
    assert payloads[-1] == "/assistance_tekun" and "/assistance_dibao" not in payloads
    assert "特困人员救助供养" in [b.title for b in assistant.menu().buttons]
    assert assistant.city_names() == ["杭州", "营口", "秦皇岛", "郴州"]
