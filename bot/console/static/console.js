/* Hotline console, assist mode: as the operator types what the caller says, ask
 * /api/console/assist for the three most likely services; a click shows the guide for
 * the chosen service and region, with a short version to read aloud and copy.
 * Everything is inserted as text (textContent), never as HTML. */
(function () {
  "use strict";
  var text = document.getElementById("caller-text");
  var region = document.getElementById("region");
  var age = document.getElementById("age");
  var status = document.getElementById("assist-status");
  var list = document.getElementById("candidates");
  var section = document.getElementById("guide-section");
  var readAloud = document.getElementById("read-aloud");
  var guideText = document.getElementById("guide-text");
  var copyStatus = document.getElementById("copy-status");
  var faqBox = document.getElementById("faq-answer");
  var faqText = document.getElementById("faq-text");
  var faqLegal = document.getElementById("faq-legal");
  var chosen = null;
  var timer = null;
  var seq = 0;

  function json(resp) {
    if (resp.status === 401) { window.location.href = "/console/login"; throw new Error("signed out"); }
    return resp.json().then(function (data) { return { status: resp.status, data: data }; });
  }

  function showCandidates(cands) {
    list.textContent = "";
    cands.forEach(function (c) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.service = c.service;
      b.setAttribute("aria-pressed", c.service === chosen ? "true" : "false");
      var name = document.createElement("span");
      name.textContent = c.name;
      var conf = document.createElement("span");
      conf.className = "conf";
      conf.textContent = Math.round(c.confidence * 100) + "%";
      b.appendChild(name);
      b.appendChild(conf);
      b.addEventListener("click", function () { choose(c.service); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function assist() {
    var t = text.value.trim();
    if (!t) { list.textContent = ""; status.textContent = ""; return; }
    var mine = ++seq;
    status.textContent = "匹配中…";
    fetch("/api/console/assist", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ text: t, region: region.value.trim() || null })
    }).then(json).then(function (r) {
      if (mine !== seq) { return; }
      if (r.status !== 200) { status.textContent = "暂时无法匹配，请直接选择业务或稍后再试。"; return; }
      if (r.data.region && !region.value.trim()) { region.value = r.data.region.name; }
      status.textContent = r.data.candidates.length ? "可能的业务（按可能性排序）：" : "没有匹配到民政业务。";
      showCandidates(r.data.candidates);
    }).catch(function () { if (mine === seq) { status.textContent = "网络异常，请稍后再试。"; } });
  }

  function choose(service) {
    chosen = service;
    Array.prototype.forEach.call(list.querySelectorAll("button"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.service === service ? "true" : "false");
    });
    var q = new URLSearchParams({ service: service });
    if (region.value.trim()) { q.set("region", region.value.trim()); }
    if (age.value) { q.set("age", age.value); }
    if (text.value.trim()) { q.set("text", text.value.trim().slice(0, 2000)); }
    fetch("/api/console/guide?" + q.toString(), { credentials: "same-origin" }).then(json).then(function (r) {
      if (r.status === 400) { status.textContent = "没有找到这个地区，请检查地区名称。"; return; }
      if (r.status !== 200) { status.textContent = "暂时无法显示指南。"; return; }
      var faq = r.data.faq;
      faqBox.hidden = !faq;
      faqText.textContent = faq ? faq.text : "";
      faqLegal.textContent = faq ? faq.legal : "";
      readAloud.textContent = r.data.read_aloud;
      guideText.textContent = r.data.text;
      copyStatus.textContent = "";
      section.hidden = false;
    }).catch(function () { status.textContent = "网络异常，请稍后再试。"; });
  }

  text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(assist, 300); });
  region.addEventListener("change", function () { if (chosen) { choose(chosen); } });
  age.addEventListener("change", function () { if (chosen) { choose(chosen); } });
  document.getElementById("copy").addEventListener("click", function () {
    var done = function () { copyStatus.textContent = "已复制"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(readAloud.textContent).then(done, function () { copyStatus.textContent = "复制失败，请手动选择文字"; });
    } else {
      copyStatus.textContent = "请手动选择文字复制";
    }
  });
})();

/* Live handoff: the queue of conversations waiting for a person, the conversation this
 * operator took, replies, reveal (audited on the server), hand back or close. */
(function () {
  "use strict";
  var queueEl = document.getElementById("queue");
  var countEl = document.getElementById("queue-count");
  var conv = document.getElementById("conversation");
  var title = document.getElementById("conv-title");
  var understoodEl = document.getElementById("conv-understood");
  var transcriptEl = document.getElementById("conv-transcript");
  var replyText = document.getElementById("reply-text");
  var convStatus = document.getElementById("conv-status");
  var current = null;
  var reveal = false;
  var AUTHORS = { citizen: "市民", bot: "智能助手", operator: "我", system: "系统" };

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (resp) {
      if (resp.status === 401) { window.location.href = "/console/login"; throw new Error("signed out"); }
      return resp.json().then(function (data) { return { status: resp.status, data: data }; });
    });
  }

  function describe(u) {
    var parts = [];
    if (u.service) parts.push("业务：" + u.service);
    if (u.region) parts.push("地区：" + u.region);
    if (u.age) parts.push("年龄：" + u.age);
    (u.answers || []).forEach(function (a) { parts.push(a); });
    return parts.join("　") || "机器人尚未识别出业务";
  }

  function renderQueue(items) {
    queueEl.textContent = "";
    countEl.textContent = String(items.length);
    items.forEach(function (h) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "take";
      b.dataset.id = String(h.id);
      var mins = Math.floor(h.waited_seconds / 60);
      b.textContent = (h.channel_label || h.channel) + " · 已等待" + mins + "分" +
        (h.waited_seconds % 60) + "秒 · " + describe(h.understood_text) + (h.reason === "bot_failed" ? " · 机器人未能理解" : "");
      b.addEventListener("click", function () { take(h.id); });
      li.appendChild(b);
      queueEl.appendChild(li);
    });
  }

  function renderConversation(h) {
    title.textContent = "对话 #" + h.id + (h.status === "closed" ? "（已结束）" : "");
    understoodEl.textContent = describe(h.understood_text);
    transcriptEl.textContent = "";
    h.transcript.forEach(function (line) {
      var li = document.createElement("li");
      li.className = "line " + line.author;
      var who = document.createElement("span");
      who.className = "author";
      who.textContent = (AUTHORS[line.author] || line.author) + "：";
      var t = document.createElement("span");
      t.className = "text";
      t.textContent = line.text;
      li.appendChild(who);
      li.appendChild(t);
      transcriptEl.appendChild(li);
    });
    transcriptEl.scrollTop = transcriptEl.scrollHeight;
    conv.hidden = false;
    if (h.status === "closed") { current = null; }
  }

  function refresh() {
    api("GET", "/api/console/queue").then(function (r) { if (r.status === 200) renderQueue(r.data.waiting); })
      .catch(function () {});
    if (current) {
      api("GET", "/api/console/handoffs/" + current + (reveal ? "?reveal=1" : "")).then(function (r) {
        if (r.status === 200) { renderConversation(r.data); return; }
        if (r.status === 403 && reveal) {  // only the serving operator or a supervisor may reveal
          reveal = false;
          convStatus.textContent = r.data.message || "无权查看完整号码。";
          refresh();
        }
      }).catch(function () {});
    }
  }

  function take(id) {
    api("POST", "/api/console/handoffs/" + id + "/take").then(function (r) {
      if (r.status !== 200) { refresh(); return; }
      current = id;
      reveal = false;
      convStatus.textContent = "";
      refresh();
      replyText.focus();
    });
  }

  function send() {
    var t = replyText.value.trim();
    if (!t || !current) return;
    api("POST", "/api/console/handoffs/" + current + "/reply", { text: t }).then(function (r) {
      if (r.status === 200) { replyText.value = ""; refresh(); }
    });
  }

  function finish(back) {
    if (!current) return;
    var id = current;
    api("POST", "/api/console/handoffs/" + id + "/finish", { back_to_bot: back }).then(function () {
      current = null;
      conv.hidden = true;
      refresh();
    });
  }

  document.getElementById("reply-form").addEventListener("submit", function (e) { e.preventDefault(); send(); });
  replyText.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.getElementById("hand-back").addEventListener("click", function () { finish(true); });
  document.getElementById("close-conv").addEventListener("click", function () { finish(false); });
  document.getElementById("reveal").addEventListener("click", function () { reveal = true; refresh(); });
  refresh();
  setInterval(refresh, 3000);
})();

/* Review: label what the bot handled badly; exported as training data by staff. */
(function () {
  "use strict";
  var list = document.getElementById("review");
  var count = document.getElementById("review-count");
  var SOURCES = { fallback: "没听懂", low_confidence: "把握不大", unhelpful: "评为没帮助" };
  var options = [];

  function get(path) {
    return fetch(path, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location.href = "/console/login"; throw new Error("signed out"); }
      return r.json();
    });
  }

  function render(items) {
    list.textContent = "";
    count.textContent = String(items.length);
    items.forEach(function (it) {
      var li = document.createElement("li");
      li.dataset.id = String(it.id);
      var q = document.createElement("span");
      q.className = "q";
      q.textContent = it.text;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = (SOURCES[it.source] || it.source) +
        (it.intent ? " · 识别为 " + it.intent + (it.confidence != null ? "（" + Math.round(it.confidence * 100) + "%）" : "") : "");
      var sel = document.createElement("select");
      sel.setAttribute("aria-label", "正确的业务");
      options.forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o.code;
        opt.textContent = o.name;
        if (it.service && o.code === it.service) opt.selected = true;
        sel.appendChild(opt);
      });
      var save = document.createElement("button");
      save.type = "button";
      save.textContent = "保存";
      save.addEventListener("click", function () {
        fetch("/api/console/review/" + it.id, {
          method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ label: sel.value })
        }).then(function (r) { if (r.ok) li.remove(); count.textContent = String(list.children.length); });
      });
      li.appendChild(q);
      li.appendChild(meta);
      li.appendChild(sel);
      li.appendChild(save);
      list.appendChild(li);
    });
  }

  get("/api/console/services").then(function (d) {
    options = [{ code: "", name: "请选择…" }].concat(d.services || [],
      [{ code: "out_of_scope", name: "不属于民政业务" }, { code: "skip", name: "跳过（无用）" }]);
    return get("/api/console/review");
  }).then(function (d) { render(d.items || []); }).catch(function () {});
})();
