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
    fetch("/api/console/guide?" + q.toString(), { credentials: "same-origin" }).then(json).then(function (r) {
      if (r.status === 400) { status.textContent = "没有找到这个地区，请检查地区名称。"; return; }
      if (r.status !== 200) { status.textContent = "暂时无法显示指南。"; return; }
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
