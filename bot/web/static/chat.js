/* 民政助手 web chat.
 *
 * Talks to POST /api/chat (see bot/web/server.py):
 *   {"text"} for typed text, {"payload"} for button clicks,
 *   {"entry"} once when the page is opened from a QR code (/?entry=<id>)
 *   -> {"ok", "retry"?, "messages": [{"text", "html", "buttons": [{"title", "payload"}], "kind", "service"}]}
 *
 * The conversation is an HttpOnly cookie set by the server: this script never sees
 * or stores it. After IDLE_MS without a message the page starts afresh (the server
 * starts a new conversation too), so a shared kiosk does not show the previous
 * citizen's conversation.
 *
 * No inline code, no external resources (the page runs under a strict CSP).
 * Bot HTML is rebuilt node by node from an inert document and only <b>, <i>
 * and <a href="https:..."> survive; everything else becomes plain text.
 */
(function () {
  "use strict";

  var API = "/api/chat";
  var MAX_LEN = 1000;
  var REQUEST_TIMEOUT_MS = 45000;
  var OLD_SENDER_KEY = "minzheng.sender"; // kept by earlier versions of this page: removed
  var TRANSCRIPT_KEY = "minzheng.transcript";
  var LAST_KEY = "minzheng.last"; // time of the citizen's last message (ms)
  var IDLE_MS = 30 * 60 * 1000; // as bot/web/conversation.py IDLE
  var MAX_SAVED = 200;
  var ENTRY_RE = /^[A-Za-z0-9_-]{1,64}$/;

  var WELCOME = {
    text: "您好！我是民政助手，可以告诉您婚姻登记、殡葬服务、养老补贴、社会救助等事项怎么办、要带什么材料、去哪里办。\n请直接输入您的问题，或点击下面的按钮：",
    html: null,
    kind: "welcome",
    service: null,
    buttons: [
      { title: "结婚登记", payload: "/marriage_register" },
      { title: "家人去世后办什么", payload: "/funeral_after_death" },
      { title: "高龄津贴", payload: "/elder_age_allowance" },
      { title: "低保", payload: "/assistance_dibao" },
      { title: "我能办什么", payload: "/ask_capabilities" }
    ]
  };
  var NETWORK_ERROR = "抱歉，网络连接出现问题，您的消息暂时没有送达。请检查网络后点击“重试”。如有急事，请拨打政务服务便民热线 12345。";

  var transcript, form, input, sendButton, counter;
  var pending = false;
  var entries = [];
  var memoryStore = {};

  /* ---------- storage (may be unavailable, e.g. private mode) ---------- */

  function storageGet(area, key) {
    try {
      return window[area].getItem(key);
    } catch (e) {
      return Object.prototype.hasOwnProperty.call(memoryStore, area + key) ? memoryStore[area + key] : null;
    }
  }

  function storageSet(area, key, value) {
    try {
      window[area].setItem(key, value);
    } catch (e) {
      memoryStore[area + key] = value;
    }
  }

  function storageRemove(area, key) {
    try {
      window[area].removeItem(key);
    } catch (e) {
      delete memoryStore[area + key];
    }
  }

  function lastActivity() {
    var n = parseInt(storageGet("sessionStorage", LAST_KEY) || "", 10);
    return isNaN(n) ? null : n;
  }

  function noteActivity() {
    storageSet("sessionStorage", LAST_KEY, String(Date.now()));
  }

  function idleTooLong() {
    var last = lastActivity();
    return last !== null && Date.now() - last > IDLE_MS;
  }

  function loadEntries() {
    var raw = storageGet("sessionStorage", TRANSCRIPT_KEY);
    if (!raw) return [];
    try {
      var parsed = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter(function (e) { return e && typeof e === "object"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function saveEntries() {
    if (entries.length > MAX_SAVED) entries = entries.slice(entries.length - MAX_SAVED);
    storageSet("sessionStorage", TRANSCRIPT_KEY, JSON.stringify(entries));
  }

  /* ---------- sanitising bot HTML ---------- */

  var DROP = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, NOSCRIPT: 1, IFRAME: 1, OBJECT: 1, EMBED: 1,
               TEXTAREA: 1, SELECT: 1, SVG: 1, MATH: 1, HEAD: 1, TITLE: 1, LINK: 1, META: 1 };

  function safeHref(href) {
    if (typeof href !== "string") return null;
    href = href.trim();
    if (!/^https:\/\//i.test(href)) return null;
    try {
      var url = new URL(href);
      return url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function copySafe(source, target) {
    for (var node = source.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 3) { // text
        target.appendChild(document.createTextNode(node.nodeValue));
        continue;
      }
      if (node.nodeType !== 1) continue; // comments and the like
      var tag = node.nodeName.toUpperCase();
      if (DROP[tag]) continue;
      if (tag === "B" || tag === "I" || tag === "STRONG" || tag === "EM") {
        var el = document.createElement(tag === "STRONG" ? "b" : tag === "EM" ? "i" : tag.toLowerCase());
        copySafe(node, el);
        target.appendChild(el);
      } else if (tag === "A") {
        var href = safeHref(node.getAttribute("href"));
        if (href) {
          var a = document.createElement("a");
          a.href = href;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          copySafe(node, a);
          target.appendChild(a);
        } else {
          copySafe(node, target);
        }
      } else if (tag === "BR") {
        target.appendChild(document.createTextNode("\n"));
      } else {
        copySafe(node, target); // unknown element: keep its text only
      }
    }
  }

  function renderHtml(html, target) {
    // DOMParser builds an inert document: no scripts run, nothing loads.
    var doc = new DOMParser().parseFromString("<!DOCTYPE html><body>" + String(html), "text/html");
    copySafe(doc.body, target);
  }

  /* ---------- rendering ---------- */

  function scrollToEnd() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  function srLabel(text) {
    var s = document.createElement("span");
    s.className = "sr-only";
    s.textContent = text;
    return s;
  }

  function renderUser(entry) {
    var row = document.createElement("div");
    row.className = "msg user";
    row.appendChild(srLabel("您说："));
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = entry.text;
    row.appendChild(bubble);
    transcript.appendChild(row);
    return row;
  }

  function makeButton(title, className, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function renderBot(entry) {
    var m = entry.msg || {};
    var row = document.createElement("div");
    row.className = "msg bot";
    if (entry.error) row.className += " error";
    row.setAttribute("data-kind", m.kind ? String(m.kind) : "");
    row.setAttribute("data-service", m.service ? String(m.service) : "");
    if (m.kind === "operator") row.className += " operator";
    row.appendChild(srLabel(m.kind === "operator" ? "工作人员：" : "民政助手："));
    if (m.kind === "operator") {
      var who = document.createElement("div");
      who.className = "who";
      who.textContent = "人工客服";
      row.appendChild(who);
    }

    var bubble = document.createElement("div");
    bubble.className = "bubble";
    if (m.html) {
      renderHtml(m.html, bubble);
    } else {
      bubble.textContent = m.text == null ? "" : String(m.text);
    }
    row.appendChild(bubble);

    var buttons = Array.isArray(m.buttons) ? m.buttons : [];
    var canRetry = Boolean(entry.retry && entry.retryRequest && typeof entry.retryRequest === "object");
    if (buttons.length || canRetry) {
      var bar = document.createElement("div");
      bar.className = "buttons";
      buttons.forEach(function (btn) {
        if (!btn || typeof btn.payload !== "string") return;
        var title = btn.title ? String(btn.title) : btn.payload;
        bar.appendChild(makeButton(title, "choice", function () {
          if (pending) return;
          sendRequest({ payload: btn.payload }, title);
        }));
      });
      if (canRetry) {
        var retryBtn = makeButton("重试", "retry", function () {
          if (pending) return;
          entry.retry = null; // one retry per failure; a new failure offers a new one
          saveEntries();
          retryBtn.remove();
          sendRequest(entry.retryRequest, null);
        });
        retryBtn.setAttribute("aria-label", "重试：重新发送刚才的消息");
        bar.appendChild(retryBtn);
      }
      row.appendChild(bar);
    }
    if (m.kind === "guide" && typeof m.service === "string" && m.service) row.appendChild(ratingBar(entry));
    transcript.appendChild(row);
    return row;
  }

  // 有帮助 / 没帮助 under a guide (once per guide; remembered with the transcript)
  function ratingBar(entry) {
    var bar = document.createElement("div");
    bar.className = "rating";
    if (entry.rated) {
      bar.textContent = "感谢您的反馈。";
      return bar;
    }
    var label = document.createElement("span");
    label.textContent = "这条指南对您有帮助吗？";
    bar.appendChild(label);
    [["有帮助", true], ["没帮助", false]].forEach(function (opt) {
      bar.appendChild(makeButton(opt[0], "rate", function () {
        entry.rated = opt[1] ? "yes" : "no";
        saveEntries();
        bar.textContent = "感谢您的反馈。";
        fetch(API.replace("/chat", "/feedback"), {
          method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ service: entry.msg.service, helpful: opt[1] })
        }).catch(function () { /* a lost rating is not worth bothering the citizen */ });
      }));
    });
    return bar;
  }

  function render(entry) {
    return entry.role === "user" ? renderUser(entry) : renderBot(entry);
  }

  function addEntry(entry) {
    entries.push(entry);
    saveEntries();
    var row = render(entry);
    scrollToEnd();
    return row;
  }

  // After a long answer, show its beginning rather than its end.
  function revealStart(row) {
    if (!row) return;
    var top = row.offsetTop - 8; // .transcript is the offsetParent (position: relative)
    if (transcript.scrollHeight - top > transcript.clientHeight) transcript.scrollTop = Math.max(top, 0);
  }

  var typingRow = null;

  function showTyping(on) {
    if (on && !typingRow) {
      typingRow = document.createElement("div");
      typingRow.className = "msg bot typing";
      typingRow.id = "typing";
      var bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.textContent = "正在输入…";
      typingRow.appendChild(bubble);
      transcript.appendChild(typingRow);
      scrollToEnd();
    } else if (!on && typingRow) {
      typingRow.remove();
      typingRow = null;
    }
  }

  function setPending(on) {
    pending = on;
    sendButton.disabled = on;
    transcript.setAttribute("aria-busy", on ? "true" : "false");
    transcript.classList.toggle("busy", on);
    showTyping(on);
  }

  /* ---------- talking to the server ---------- */

  function postJson(body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch(API, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (resp) {
      // 429 (too fast) and 503 come with a message for the citizen; other errors do not
      return resp.json().catch(function () { return null; }).then(function (data) {
        if (resp.ok || (data && Array.isArray(data.messages))) return data;
        throw new Error("HTTP " + resp.status);
      });
    }).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  // request: {text} or {payload}; userTitle: shown as the user's bubble (null for a retry)
  function sendRequest(request, userTitle) {
    if (pending) return;
    if (idleTooLong() && !pollTimer) resetConversation(); // the server starts a new one as well
    if (userTitle) addEntry({ role: "user", text: userTitle });
    setPending(true);
    noteActivity();
    var body = {};
    if (typeof request.payload === "string") body.payload = request.payload;
    else if (typeof request.entry === "string") body.entry = request.entry;
    else body.text = request.text;

    postJson(body).then(function (data) {
      if (!data || typeof data !== "object" || !Array.isArray(data.messages)) throw new Error("bad response");
      setPending(false);
      var messages = data.messages.filter(function (m) { return m && typeof m === "object"; });
      var offerRetry = data.ok === false && data.retry === true;
      if (!messages.length && offerRetry) {
        messages = [{ text: NETWORK_ERROR, kind: "error", buttons: [] }];
      }
      var first = null;
      messages.forEach(function (m, i) {
        var entry = { role: "bot", msg: m };
        if (offerRetry && i === messages.length - 1) {
          entry.retry = true;
          entry.retryRequest = request;
        }
        var row = addEntry(entry);
        if (!first) first = row;
      });
      revealStart(first);
      if (data.handoff === true) startPolling();
    }).catch(function () {
      setPending(false);
      addEntry({
        role: "bot",
        error: true,
        msg: { text: NETWORK_ERROR, html: null, buttons: [], kind: "error", service: null },
        retry: true,
        retryRequest: request
      });
    });
  }

  /* ---------- live handoff: poll for the operator's replies ---------- */

  var pollTimer = null;
  var POLL_MS = 3000;

  function pollOnce() {
    return fetch(API + "/updates", { // the conversation is the cookie: nothing in the URL
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (resp) { return resp.json(); }).then(function (data) {
      if (!data || !Array.isArray(data.messages)) return;
      data.messages.forEach(function (m) {
        if (m && typeof m === "object") addEntry({ role: "bot", msg: m });
      });
      if (data.messages.length) noteActivity(); // an operator is talking: the conversation is alive
      if (data.handoff === true) startPolling(); else stopPolling();
    }).catch(function () { /* try again at the next tick */ });
  }

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(pollOnce, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  /* ---------- a new conversation after inactivity ---------- */

  function resetConversation() {
    stopPolling();
    entries = [{ role: "bot", msg: WELCOME }];
    saveEntries();
    storageRemove("sessionStorage", LAST_KEY);
    while (transcript.firstChild) transcript.removeChild(transcript.firstChild);
    entries.forEach(render);
    scrollToEnd();
  }

  function checkIdle() {
    if (!pending && !pollTimer && entries.length > 1 && idleTooLong()) resetConversation();
  }

  function submitTyped() {
    if (pending) return;
    var text = input.value.slice(0, MAX_LEN);
    if (!text.trim()) {
      input.value = "";
      updateCounter();
      input.focus();
      return;
    }
    input.value = "";
    autoGrow();
    updateCounter();
    sendRequest({ text: text }, text);
  }

  /* ---------- input box ---------- */

  function updateCounter() {
    var left = MAX_LEN - input.value.length;
    counter.textContent = left <= 100 ? "（还可输入 " + Math.max(left, 0) + " 字）" : "";
  }

  function autoGrow() {
    var atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    input.style.height = "auto"; // CSSOM, allowed under the CSP
    input.style.height = (input.scrollHeight + 4) + "px"; // capped by max-height in chat.css
    if (atEnd) scrollToEnd(); // a taller box must not hide the latest answer
  }

  function onKeyDown(e) {
    if (e.key !== "Enter" || e.shiftKey) return;
    if (e.isComposing || e.keyCode === 229) return; // IME (pinyin) confirms a word with Enter
    e.preventDefault();
    submitTyped();
  }

  function onInput() {
    if (input.value.length > MAX_LEN) input.value = input.value.slice(0, MAX_LEN);
    autoGrow();
    updateCounter();
  }

  /* ---------- start ---------- */

  function start() {
    transcript = document.getElementById("transcript");
    form = document.getElementById("composer");
    input = document.getElementById("input");
    sendButton = document.getElementById("send");
    counter = document.getElementById("counter");

    storageRemove("localStorage", OLD_SENDER_KEY);
    entries = loadEntries();
    if (idleTooLong()) {
      entries = [];
      storageRemove("sessionStorage", LAST_KEY);
    }
    if (!entries.length) {
      entries.push({ role: "bot", msg: WELCOME });
      saveEntries();
    }
    entries.forEach(render);
    scrollToEnd();

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submitTyped();
    });
    input.addEventListener("keydown", onKeyDown);
    input.addEventListener("input", onInput);
    updateCounter();
    document.documentElement.classList.add("ready");
    setInterval(checkIdle, 60 * 1000);
    openEntryPoint();
    // reloaded during a live handoff: keep listening for the operator
    var last = entries[entries.length - 1];
    var kind = last && last.msg ? last.msg.kind : null;
    if (kind === "handoff_queued" || kind === "operator" || kind === "system") pollOnce();
  }

  // A QR code opens the page as /?entry=<id>: start on that service and office.
  // The parameter is dropped from the address so a reload does not repeat it;
  // malformed ids are ignored and the server answers unknown ones with the welcome.
  function openEntryPoint() {
    var id = null;
    try {
      id = new URLSearchParams(window.location.search).get("entry");
      if (id !== null && window.history && window.history.replaceState) {
        window.history.replaceState(null, "", window.location.pathname);
      }
    } catch (e) {
      id = null;
    }
    if (id && ENTRY_RE.test(id)) sendRequest({ entry: id }, null);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
