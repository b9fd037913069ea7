"""预约婚姻登记: the booking form and the day/slot helpers rescheduling shares."""
from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple


from ..assistant import Button, Reply
from ..booking import BookingService, DayView, request_key
from ..marriage_precheck import Party, precheck
from ..normalize import compact
from ..workdays import divorce_timeline, format_day
from . import parse
from .engine import (
    REGION, RESUME, GuidedForm, Outcome, text_reply,
)

if TYPE_CHECKING:
    pass


KINDS = {"marriage": "结婚登记", "divorce": "离婚登记"}


def _kind_from(text: str) -> Optional[str]:
    t = compact(text)
    if "离婚" in t:
        return "divorce"
    if re.search(r"(结婚|领证|扯证)", t):
        return "marriage"
    return None


def _kind_any(text: str) -> Optional[str]:
    return "marriage" if "婚姻登记" in compact(text) or "结婚" in compact(text) else None


def _day_label(d: DayView) -> str:
    label = format_day(d.day).split("年", 1)[1]
    if d.label:
        label += f" {d.label}"
    return label


def free_slots(svc: BookingService, office: str, kind: str, day: date) -> List:
    """The day's slots with a free place (empty when closed or full)."""
    view = svc.day(office, kind, day)
    return [s for s in (view.slots if view else []) if s.free > 0]


def day_choice(heading: str, days: List[DayView], footer: str = "") -> Reply:
    lines = [heading] + [f"· {_day_label(d)}（余{d.free}个名额）" for d in days] + ([footer] if footer else [])
    return text_reply("\n".join(lines), [Button(_day_label(d), _day_label(d).split(" ")[0]) for d in days],
                      kind="form_question")


def slot_choice(day: date, free: List, footer: str = "") -> Reply:
    lines = [f"{format_day(day)}可以预约的时段："] + [f"· {s.start}-{s.end}（余{s.free}个名额）" for s in free]
    lines += [footer] if footer else []
    return text_reply("\n".join(lines), [Button(f"{s.start}-{s.end}（余{s.free}）", s.start) for s in free],
                      kind="form_question")


def day_problem(svc: BookingService, office: Optional[str], kind: Optional[str], day: date) -> Optional[str]:
    """Why ``day`` cannot be booked at the office (None when it can)."""
    if not office or not kind:
        return None
    if day <= svc.today():
        return "只能预约明天及以后的日期。"
    if day not in svc.bookable_days(office):
        return "这一天超出了可以预约的范围（最多提前30天）。"
    view = svc.day(office, kind, day)
    if view is None or not view.slots:
        return f"{format_day(day)}登记处不办公（周末或法定节假日）。"
    if view.free <= 0:
        return f"{format_day(day)}已经约满了。"
    return None


class BookingForm(GuidedForm):
    name = "booking_form"
    intent = "book_appointment"
    title = "婚姻登记预约"
    resume_words = "继续预约"
    related = ("marriage_register", "marriage_divorce", "marriage_reissue")
    slots = ("book_kind", "book_office", "book_groom_birth", "book_bride_birth", "book_day", "book_time",
             "book_name", "book_phone", "book_confirm")

    _EXAMPLES = {
        "book_kind": "“结婚登记”“离婚登记”",
        REGION: "“杭州”“上城区”“郴州市北湖区”",
        "book_office": "登记处前面的序号“1”，登记处名字的一部分，或您所在的区县，例如“西湖区”",
        "book_groom_birth": "“1998年3月2日”“1998-03-02”“26周岁”",
        "book_bride_birth": "“2000年5月1日”“2000-05-01”“24周岁”",
        "book_day": "“下周三”“11月30日”，或点下面的日期",
        "book_time": "“上午”“下午两点”“9点”，或点下面的时段",
        "book_name": "“张三”",
        "book_phone": "“13812345678”",
        "book_confirm": "“确认”，或“改时间”",
    }
    _DONT_KNOW_WORDS = {
        "book_groom_birth": "出生日期在男方的身份证上；只说周岁也可以，例如“26周岁”。",
        "book_bride_birth": "出生日期在女方的身份证上；只说周岁也可以，例如“24周岁”。",
        "book_day": "没关系，下面是最近可以预约的日期，选一个方便的就行。",
        "book_time": "没关系，选一个方便的时段就行；上午人一般少一些。",
        "book_phone": "留一个能接到短信的手机号码就行，查询、改约时要用到它的后四位。",
    }

    def examples(self, slot, state):
        return self._EXAMPLES.get(slot, "")

    def dont_know(self, slot, state):
        if slot == "book_office":  # any office of the city registers (全国通办): the city-wide one
            options = self.offices(state.get(REGION), state.get("book_kind"))
            serving = self.serving(state.get(REGION), state.get("book_kind")) or (options[0] if options else None)
            if serving:
                return (f"没关系，婚姻登记全国通办，在本市哪个登记处都可以办。先为您选{serving[1]}。",
                        {"book_office": serving[0]})
        if slot in self._DONT_KNOW_WORDS:
            return self._DONT_KNOW_WORDS[slot], {}
        return super().dont_know(slot, state)

    acknowledgements = (
        (r"(二婚|再婚|离过婚|复婚|第二次结婚)", "好的，记下了。再婚、复婚都按结婚登记办理，预约方式一样。"),
        (r"(外地|户口不在|外省|异地)", "好的。2025年5月10日起婚姻登记全国通办，户口不在本地也可以办。"),
    )
    personal = ("book_groom_birth", "book_bride_birth", "book_name", "book_phone")

    # -- helpers --
    def offices(self, region_code: Optional[str], kind: Optional[str]) -> List[Tuple[str, str]]:
        """(code, name) of the offices with a schedule in the region's city, the region's own first."""
        if not region_code:
            return []
        cat = self.ctx.assistant.catalog
        index = cat.region_index()
        city = index.city_of(region_code)
        if city is None:
            return []
        out = []
        for code, sched in self.ctx.schedules().items():
            if kind and kind not in sched.kinds:
                continue
            info = cat.office(code)
            if info is None or not info.region_code:
                continue
            if index.city_of(info.region_code) and index.city_of(info.region_code).code == city.code:
                own = info.region_code == region_code
                out.append((0 if own else 1, code, info.name))
        return [(c, n) for _, c, n in sorted(out)]

    def _ancestors(self, region_code: Optional[str]) -> List[str]:
        return [r.code for r in self.ctx.assistant.catalog.region_index().chain(region_code)[1:]] if region_code else []

    def serving(self, region_code: Optional[str], kind: Optional[str]) -> Optional[Tuple[str, str]]:
        """The office that serves a region: its own (a district's registry), else the
        city-wide one, else the only office of the city; None when the citizen has to
        choose (a city with several offices named as a whole) or none can be booked.
        Registration is possible at any office of the city (全国通办): this is the one
        nearest by the region data (an office serves the region it belongs to and,
        at city level, every district without its own)."""
        options = self.offices(region_code, kind)
        if not options:
            return None
        if len(options) == 1:
            return options[0]
        cat = self.ctx.assistant.catalog
        index = cat.region_index()
        ref = index.by_code.get(region_code or "")
        if ref is None or ref.level != "district":
            return None  # the whole city named: the citizen chooses
        city = index.city_of(region_code)
        by_region = {}
        for code, name in options:
            info = cat.office(code)
            by_region.setdefault(info.region_code if info else None, (code, name))
        return by_region.get(region_code) or (by_region.get(city.code) if city else None)

    def days(self, state) -> List[DayView]:
        return self.ctx.booking().availability(state["book_office"], state["book_kind"], days=6)

    def slots_of(self, state) -> List:
        return free_slots(self.ctx.booking(), state["book_office"], state["book_kind"],
                          date.fromisoformat(state["book_day"]))

    def party(self, value: Optional[str], sex: str) -> Optional[Party]:
        if not value:
            return None
        if value.startswith("age:"):
            return Party(sex, age=int(value[4:]))
        return Party(sex, birth_date=date.fromisoformat(value))

    def precheck(self, state):
        return precheck(self.party(state.get("book_groom_birth"), "male") or Party("male"),
                        self.party(state.get("book_bride_birth"), "female") or Party("female"), on=self.ctx.today())

    # -- form --
    def extract(self, text, state, requested):
        out: Dict[str, Any] = {}
        t = compact(text)
        if not t:
            return out
        kind = _kind_from(text) or (_kind_any(text) if requested == "book_kind" else None)
        if kind and (requested in (None, "book_kind") or kind != state.get("book_kind")):
            if kind != state.get("book_kind") and requested is not None:
                out.update({"book_office": None, "book_day": None, "book_time": None})
            out["book_kind"] = kind
        region = self.ctx.assistant.catalog.find_region(text)
        kind_now = out.get("book_kind") or state.get("book_kind")
        if requested in (None, REGION, "book_office") or (region is not None and not state.get("book_day")):
            options = self.offices(state.get(REGION), kind_now) if requested == "book_office" else []
            pick = parse.choose(text, [n for _, n in options]) if options else None
            if pick is not None:  # "2", "西湖区那个", the office's name
                out["book_office"] = options[pick][0]
            elif region is not None and region.code in self._ancestors(state.get(REGION)):
                pass  # "杭州" after "上城区": the same place, said again
            elif region is not None:
                out[REGION] = region.code
                if region.code != state.get(REGION):
                    out["book_office"] = None
                serving = self.serving(region.code, kind_now)
                if serving is not None:  # a district, a street or a place: the office that serves it
                    code, name = serving
                    out["book_office"] = code
                    place = region.name
                    if requested in ("book_office", REGION) or requested is None:
                        out["_note"] = (f"{place}的婚姻登记可以在{name}办理，已为您选好。"
                                        if place not in name else f"好的，为您选{name}。")
        if requested in ("book_groom_birth", "book_bride_birth"):
            value = self._birth(text)
            if value:
                out[requested] = value
        d = parse.parse_day(text, self.ctx.today())
        if requested in ("book_day", "book_time", "book_confirm") and d is not None:
            problem = day_problem(self.ctx.booking(), state.get("book_office"), state.get("book_kind"), d)
            if problem:
                out["_hint"] = problem
            else:
                out["book_day"] = d.isoformat()
                if requested != "book_day":
                    out["book_time"] = None
                    out["book_confirm"] = None
        if requested == "book_time" or (requested == "book_confirm" and "book_day" not in out):
            merged = {**state, **out}  # a change of kind in this message clears the day and the office
            if merged.get("book_day") and merged.get("book_office"):
                spans = [(s.start, s.end) for s in self.slots_of(merged)]
                start = parse.parse_time(text, spans)
                if start:
                    out["book_time"] = start
                    out["book_confirm"] = None
                elif requested == "book_time" and re.search(r"[0-9一二两三四五六七八九十]\s*[点:：]", t):
                    out["_hint"] = "这个时间不在开放的时段里（或已约满）。"
        if requested == "book_name":
            name = parse.parse_name(text)
            if name:
                out["book_name"] = name
        phone = parse.parse_phone(text)
        if phone and requested in ("book_phone", "book_name", "book_confirm"):
            out["book_phone"] = phone
            if requested == "book_confirm":
                out["book_confirm"] = None
        if requested == "book_confirm" and not [k for k in out if not k.startswith("_")]:
            yes = parse.parse_confirm(text)
            if yes is True:
                out["book_confirm"] = True
            elif yes is False:
                out.update({"book_day": None, "book_time": None, "book_confirm": None})
        return out

    def _birth(self, text: str) -> Optional[str]:
        born = parse.parse_birth_date(text, self.ctx.today())
        if born:
            return born.isoformat()
        m = re.search(r"([0-9]{2})\s*(周岁|岁)", compact(text))
        if m and 14 <= int(m.group(1)) <= 100:
            return f"age:{int(m.group(1))}"
        return None

    def next_slot(self, state):
        if not state.get("book_kind"):
            return "book_kind"
        if not state.get(REGION):
            return REGION
        if not state.get("book_office"):
            return "book_office"
        if state["book_kind"] == "marriage":
            for slot in ("book_groom_birth", "book_bride_birth"):
                if not state.get(slot):
                    return slot
            if not self.precheck(state).ok:
                return None
        for slot in ("book_day", "book_time", "book_name", "book_phone"):
            if not state.get(slot):
                return slot
        if state.get("book_confirm") is not True:
            return "book_confirm"
        return None

    def question(self, slot, state):
        kind = KINDS.get(state.get("book_kind") or "", "婚姻登记")
        cities = [Button(c, c) for c in self.ctx.assistant.city_names()]
        if slot == "book_kind":
            return text_reply("好的，帮您预约婚姻登记（随时说“算了”可以退出）。请问要预约结婚登记还是离婚登记？",
                              [Button("结婚登记", "结婚登记"), Button("离婚登记", "离婚登记")], kind="form_question")
        if slot == REGION:
            return text_reply(f"预约{kind}：请问您想在哪个城市或区县办理？",
                              cities, kind="form_question")
        if slot == "book_office":
            options = self.offices(state.get(REGION), state.get("book_kind"))
            if not options:
                name = self.ctx.assistant.catalog.region_index().full_name(state[REGION])
                return text_reply(f"抱歉，{name}的婚姻登记处暂未开通在这里预约。您可以换一个城市，"
                                  f"或拨打 {self.ctx.assistant.catalog.hotline_for(state.get(REGION))} 咨询。\n"
                                  "请问在哪个城市办理？", cities, kind="form_question")
            lines = ["请选择婚姻登记处："] + [f"{i + 1}. {n}" for i, (_, n) in enumerate(options)]
            return text_reply("\n".join(lines), [Button(n, n) for _, n in options], kind="form_question")
        if slot == "book_groom_birth":
            return text_reply("先做个预检。请告诉我男方的出生日期（例如 1998年3月2日；只说周岁也可以）。",
                              kind="form_question")
        if slot == "book_bride_birth":
            return text_reply("女方的出生日期呢？", kind="form_question")
        if slot == "book_day":
            days = self.days(state)
            office = self.ctx.assistant.catalog.office(state["book_office"])
            if not days:
                where = office.name if office else "该登记处"
                return text_reply(f"抱歉，{where}近期的预约都已约满。您可以换一个登记处，"
                                  "或过几天再来看看。请选择其他登记处，或说“算了”。", kind="form_question")
            return day_choice(f"{office.name if office else ''}近期可以预约的日期：", days,
                              "请选择日期，也可以直接说“下周三”“11月30日”。")
        if slot == "book_time":
            free = self.slots_of(state)
            day = date.fromisoformat(state["book_day"])
            if not free:
                return text_reply(f"{format_day(day)}已经约满了，请换一天。", kind="form_question")
            return slot_choice(day, free, "请选择时段，也可以直接说“上午”“下午两点”。")
        if slot == "book_name":
            return text_reply("请告诉我预约人的姓名（双方中的一位）。", kind="form_question")
        if slot == "book_phone":
            return text_reply("请留一个手机号码，查询、改约或取消预约时要用到它的后四位。", kind="form_question")
        office = self.ctx.assistant.catalog.office(state["book_office"])
        day = date.fromisoformat(state["book_day"])
        end = next((s.end for s in self.slots_of(state) if s.start == state["book_time"]), "")
        text = (f"请核对预约信息：\n· 业务：{kind}\n· 登记处：{office.name if office else state['book_office']}\n"
                f"· 时间：{format_day(day)} {state['book_time']}-{end}\n· 预约人：{state['book_name']}\n"
                f"· 手机：{state['book_phone']}\n确认预约吗？")
        return text_reply(text, [Button("确认预约", "确认"), Button("改时间", "改时间")], kind="form_question")

    def hint(self, slot, state):
        return {
            "book_kind": "请选择结婚登记或离婚登记。",
            REGION: "抱歉，我没能识别出这个地区。",
            "book_office": "请从下面的登记处中选一个。",
            "book_groom_birth": "抱歉，没看懂日期，请按“1998年3月2日”的格式告诉我。",
            "book_bride_birth": "抱歉，没看懂日期，请按“2000年5月1日”的格式告诉我。",
            "book_day": "抱歉，这一天不能预约或没看懂日期，请从下面选一天。",
            "book_time": "请从下面的时段中选一个。",
            "book_name": "请只回复姓名，例如“张三”。",
            "book_phone": "请回复11位手机号码。",
            "book_confirm": "请回复“确认”，或说“改时间”重新选择。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        kind = state.get("book_kind")
        if kind == "marriage" and state.get("book_groom_birth") and state.get("book_bride_birth"):
            pre = self.precheck(state)
            if not pre.ok:
                text = "预检没有通过，暂时不能预约结婚登记：\n" + "\n".join("· " + p for p in pre.problems)
                text += "\n依据：《民法典》第1047条（结婚年龄，男不得早于22周岁，女不得早于20周岁）。"
                return Outcome(text_reply(text, [Button("结婚登记须知", "/marriage_register")], kind="precheck_failed"))
        if state.get("book_confirm") is not True:
            return Outcome(text_reply("预约没有完成。需要时说“预约结婚登记”重新开始。", kind="booking_incomplete"))
        day = date.fromisoformat(state["book_day"])
        result = self.ctx.booking().book(state["book_office"], kind, day, state["book_time"], state["book_name"],
                                         state["book_phone"],
                                         request_key=request_key(str(state.get("_conversation") or ""),
                                                                 state.get("_turn") or ""))
        if not result.ok:
            if result.reason in ("full", "closed", "out_of_range"):
                return Outcome(text_reply("抱歉，这个时段刚刚约满（或不再开放），请重新选择日期和时段。",
                                          kind="booking_full"),
                               {**{s: state.get(s) for s in self.slots}, "book_day": None, "book_time": None,
                                "book_confirm": None, RESUME: self.name}, followup="booking_form")
            return Outcome(text_reply("抱歉，预约暂时没有成功，请稍后再试，或拨打 "
                                      f"{self.ctx.assistant.catalog.hotline_for(state.get(REGION))}。",
                                      kind="booking_failed"))
        b = result.booking
        office = self.ctx.assistant.catalog.office(b.office)
        lines = [f"预约成功！确认码：{b.code}",
                 f"· 业务：{KINDS[b.kind]}",
                 f"· 时间：{format_day(b.day)} {b.start}-{b.end}",
                 f"· 登记处：{office.name if office else b.office}"]
        if office:
            lines.append(f"· 地址：{office.address}")
            if office.phone:
                lines.append(f"· 电话：{office.phone}")
        lines.append(f"· 预约人：{b.name}（{b.phone}）")
        lines.append("查询、改约或取消：告诉我“查询预约”，再提供确认码和手机后四位。")
        if kind == "marriage":
            pre = self.precheck(state)
            lines.append("请带好：")
            lines += ["· " + m for m in pre.materials]
            lines += [n for n in pre.notes if not n.startswith("请确认")]
        else:
            tl = divorce_timeline(b.day)
            lines.append("请带好：双方的居民身份证、结婚证和双方签名的离婚协议书；双方须本人到场。")
            lines.append(f"如果{format_day(b.day)}受理，离婚冷静期到{format_day(tl.cooling_off.end)}为止，期间任何一方都可以撤回申请；"
                         f"冷静期满后，双方须在{format_day(tl.collection.end)}前一起到登记处申请发给离婚证，否则视为撤回申请"
                         "（《民法典》第1077条）。")
            if not tl.schedule_known:
                lines.append("（节假日安排尚未公布，以上日期可能顺延，以登记处告知为准。）")
        if b.sample:
            lines.append("提示：登记处的预约名额是示例数据，实际开放的时段请以登记处公布为准。")
        return Outcome(text_reply("\n".join(lines), [Button("查询预约", "/manage_booking")], kind="booking_done",
                                  service="marriage.register" if kind == "marriage" else "marriage.divorce"))
