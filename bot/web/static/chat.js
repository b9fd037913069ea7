/* 民政助手 web chat.
 *
 * Talks to POST /api/chat (see bot/web/server.py):
 *   {"text"} for typed text, {"payload"} for button clicks,
 *   {"entry"} once when the page is opened from a QR code (/?entry=<id>)
 *   -> {"ok", "retry"?, "messages": [{"text", "html", "buttons": [{"title", "payload"}], "kind", "service"}]}
 *
 * The first message, the welcome with the catalogue's service menu, comes in the page
 * itself (a JSON block the server fills in): no request before it is shown.
 *
 * The conversation is an HttpOnly cookie set by the server: this script never sees
 * or stores it. After IDLE_MS without a message the page starts afresh (the server
 * starts a new conversation too), so a shared kiosk does not show the previous
 * citizen's conversation.
 *
 * 长辈版 (elder mode, issue 19): larger type and buttons, long replies shortened to their
 * first paragraph with 展开全文, optional automatic reading aloud. Only the preference
 * ("minzheng.mode", "minzheng.autoread") is kept in localStorage, nothing personal;
 * /?mode=elder (a QR code) or "mode": "elder" in a reply turns it on.
 * 朗读 (speechSynthesis, a Mandarin voice) and 说话 (SpeechRecognition) appear only
 * where the browser offers them.
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
  var MODE_KEY = "minzheng.mode"; // "elder" or absent: a display preference, nothing personal
  var AUTOREAD_KEY = "minzheng.autoread"; // "1" or absent
  var SHORT_CHARS = 90; // 长辈版: longer replies show their first paragraph and 展开全文
  var HANDOFF = { payload: "/human_handoff", title: "转人工" };

  // The welcome and its service buttons are the catalogue's (bot.assistant.Assistant.welcome):
  // the server puts them in the page (<script id="welcome-data" type="application/json">).
  // Without them (the page opened as a plain file, a broken block) this minimal one is shown.
  var BASIC_WELCOME = {
    text: "您好！我是民政助手，可以告诉您民政事项怎么办、要带什么材料、去哪里办。\n请直接输入您的问题，或从下面选一项：",
    html: null,
    kind: "welcome",
    service: null,
    buttons: [{ title: "我能办什么", payload: "/ask_capabilities" }]
  };
  var WELCOME = BASIC_WELCOME; // read from the page in start()
  var ELDER_WELCOME = "您好！我是民政助手。请点下面的按钮，或按“说话”说出您的问题：";
  var ELDER_WELCOME_TYPED = "您好！我是民政助手。请点下面的按钮，或在下方输入您的问题：";
  var NETWORK_ERROR = "抱歉，网络连接出现问题，您的消息暂时没有送达。请检查网络后点击“重试”。如有急事，请拨打政务服务便民热线 12345。";

  var HANDOFF_WAIT = "已为您转接人工服务，工作人员接入后会在这里回复您，请稍候。如有急事，请拨打政务服务便民热线 12345。";

  var transcript, form, input, sendButton, counter, hint, elderToggle, autoReadButton, micButton;
  var pending = false;
  var elder = false;
  var autoRead = false;
  var lastTyped = 0;
  var handoffWanted = false; // 转人工 tapped while an answer was on its way // when the citizen last changed the input box (ms)
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

  // The server's welcome, checked like any reply: text as text, HTML through the sanitiser.
  function readWelcome() {
    var el = document.getElementById("welcome-data");
    var data = null;
    try {
      data = el ? JSON.parse(el.textContent || "null") : null;
    } catch (e) {
      data = null;
    }
    if (!data || typeof data !== "object" || typeof data.text !== "string" || !data.text) return BASIC_WELCOME;
    var buttons = (Array.isArray(data.buttons) ? data.buttons : []).filter(function (b) {
      return b && typeof b === "object" && typeof b.payload === "string" && typeof b.title === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
    return {
      text: data.text,
      html: typeof data.html === "string" ? data.html : null,
      kind: "welcome",
      service: null,
      buttons: buttons
    };
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
    var summary = elder && !entry.expanded ? firstParagraph(m) : null;
    if (elder && m.kind === "welcome") summary = micButton && !micButton.hidden ? ELDER_WELCOME : ELDER_WELCOME_TYPED; // short, so the service buttons show at once
    if (summary) {
      bubble.textContent = summary;
    } else if (m.html) {
      renderHtml(m.html, bubble);
    } else {
      bubble.textContent = m.text == null ? "" : String(m.text);
    }
    row.appendChild(bubble);
    var tools = null;
    if (summary || speechAvailable()) {
      tools = document.createElement("div");
      tools.className = "tools";
      if (summary && m.kind !== "welcome") {
        var more = makeButton("展开全文", "more", function () {
          entry.expanded = true;
          saveEntries();
          bubble.textContent = "";
          if (m.html) renderHtml(m.html, bubble); else bubble.textContent = m.text == null ? "" : String(m.text);
          more.remove();
          bubble.focus();
        });
        more.setAttribute("aria-expanded", "false");
        tools.appendChild(more);
        bubble.tabIndex = -1;
      }
      if (speechAvailable()) {
        tools.appendChild(makeButton("朗读", "speak", function () {
          toggleSpeech(this, spokenText(m, bubble));
        }));
      }
      row.appendChild(tools);
    }

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

  // 长辈版: the first paragraph of a long reply (null when the reply is short already)
  function firstParagraph(m) {
    if (m.kind === "operator" || m.kind === "error" || m.kind === "welcome") return null;
    var text = m.text == null ? "" : String(m.text).trim();
    if (text.length <= SHORT_CHARS) return null;
    var parts = text.split(/\n\s*\n/);
    var first = parts[0].trim();
    if (parts.length === 1) {
      var lines = text.split("\n");
      first = lines[0].trim();
      if (lines.length === 1) return null; // one long paragraph: nothing sensible to cut
    }
    return first && first.length < text.length ? first : null;
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
    if (!on && handoffWanted) {
      handoffWanted = false;
      setTimeout(function () { sendRequest({ payload: HANDOFF.payload }, HANDOFF.title); }, 0);
    }
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
      if (!messages.length && data.handoff === true && request.payload === HANDOFF.payload) {
        // 转人工 again while already with the desk: the server records it for the operator
        messages = [{ text: HANDOFF_WAIT, kind: "handoff_waiting", buttons: [] }];
      }
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
      if (data.mode === "elder" && !elder) setElder(true, true);
      if (elder && autoRead) speakAuto(messages);
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

  // No time limit on answering: while the citizen is typing (text in the box, changed
  // within the idle time) the conversation stays on screen; sending it then starts a
  // new conversation (sendRequest). The typed text is never cleared by the reset.
  function checkIdle() {
    if (pending || pollTimer || entries.length <= 1 || !idleTooLong()) return;
    if (input.value.trim() && Date.now() - lastTyped < IDLE_MS) return;
    resetConversation();
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
    if (hint) hint.textContent = "";
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
    lastTyped = Date.now();
    if (input.value.length > MAX_LEN) input.value = input.value.slice(0, MAX_LEN);
    autoGrow();
    updateCounter();
  }

  /* ---------- 长辈版 (elder mode) ---------- */

  function rerender() {
    transcript.setAttribute("aria-live", "off"); // the same messages again: not news to announce
    while (transcript.firstChild) transcript.removeChild(transcript.firstChild);
    typingRow = null;
    entries.forEach(render);
    if (pending) showTyping(true);
    scrollToEnd();
    setTimeout(function () { transcript.setAttribute("aria-live", "polite"); }, 0);
  }

  function setElder(on, remember) {
    elder = Boolean(on);
    document.documentElement.classList.toggle("elder", elder);
    elderToggle.setAttribute("aria-pressed", elder ? "true" : "false");
    elderToggle.textContent = elder ? "标准版" : "长辈版";
    elderToggle.setAttribute("aria-label", elder ? "切换到标准版（字体恢复正常）" : "切换到长辈版（大字、大按钮）");
    if (remember) {
      if (elder) storageSet("localStorage", MODE_KEY, "elder");
      else storageRemove("localStorage", MODE_KEY);
    }
    input.placeholder = elder ? "请输入问题，或按“说话”" : "请输入您的问题，例如：结婚登记要带什么材料";
    updateAutoReadButton();
    if (transcript) rerender();
  }

  function updateAutoReadButton() {
    autoReadButton.hidden = !(elder && speechAvailable());
    autoReadButton.setAttribute("aria-pressed", autoRead ? "true" : "false");
    autoReadButton.textContent = autoRead ? "✓ 自动朗读" : "自动朗读";
    autoReadButton.setAttribute("aria-label", "自动朗读每条回复");
  }

  function setupModes() {
    elder = storageGet("localStorage", MODE_KEY) === "elder";
    autoRead = storageGet("localStorage", AUTOREAD_KEY) === "1";
    document.documentElement.classList.toggle("elder", elder);
    elderToggle.addEventListener("click", function () { setElder(!elder, true); });
    autoReadButton.addEventListener("click", function () {
      autoRead = !autoRead;
      if (autoRead) storageSet("localStorage", AUTOREAD_KEY, "1");
      else storageRemove("localStorage", AUTOREAD_KEY);
      if (!autoRead) stopSpeech();
      updateAutoReadButton();
    });
    document.getElementById("handoff").addEventListener("click", function () {
      if (pending) { handoffWanted = true; return; } // sent as soon as the current answer is in
      sendRequest({ payload: HANDOFF.payload }, HANDOFF.title);
    });
    setElder(elder, false);
  }

  /* ---------- 朗读: speech synthesis in Mandarin ---------- */

  var voice = null;
  var speakingButton = null;

  function chineseVoice() {
    var synth = window.speechSynthesis;
    if (!synth || typeof window.SpeechSynthesisUtterance !== "function" || typeof synth.getVoices !== "function") return null;
    var voices = [];
    try { voices = synth.getVoices() || []; } catch (e) { return null; }
    var best = null;
    for (var i = 0; i < voices.length; i++) {
      var lang = String(voices[i].lang || "").replace("_", "-").toLowerCase();
      if (lang === "zh-cn" || lang === "cmn-cn" || lang === "cmn-hans-cn" || lang === "zh-hans-cn") return voices[i];
      if (!best && (lang === "zh" || lang === "zh-tw" || lang === "zh-sg" || lang.indexOf("cmn") === 0)) best = voices[i];
    }
    return best; // zh-HK (Cantonese) is not Mandarin: not used
  }

  function speechAvailable() {
    return voice !== null;
  }

  function setupSpeech() {
    voice = chineseVoice();
    var synth = window.speechSynthesis;
    if (synth && typeof synth.addEventListener === "function") {
      synth.addEventListener("voiceschanged", function () { // voices often load after the page
        var had = voice !== null;
        voice = chineseVoice();
        if (had !== (voice !== null)) { updateAutoReadButton(); if (transcript) rerender(); }
      });
    }
    updateAutoReadButton();
    setupMic();
  }

  function spokenText(m, bubble) {
    var text = bubble ? bubble.textContent : "";
    if (!text && m && m.text) text = String(m.text);
    return text.replace(/[【】]/g, " ").replace(/\s+/g, " ").trim();
  }

  function stopSpeech() {
    try { if (window.speechSynthesis) window.speechSynthesis.cancel(); } catch (e) { /* nothing to stop */ }
    if (speakingButton) {
      speakingButton.textContent = "朗读";
      speakingButton.setAttribute("aria-pressed", "false");
      speakingButton = null;
    }
  }

  function speak(text, button) {
    if (!voice || !text) return;
    stopSpeech();
    var u = new window.SpeechSynthesisUtterance(text);
    u.lang = voice.lang || "zh-CN";
    u.voice = voice;
    u.rate = elder ? 0.85 : 1;
    if (button) {
      speakingButton = button;
      button.textContent = "停止朗读";
      button.setAttribute("aria-pressed", "true");
      u.onend = u.onerror = function () {
        if (speakingButton === button) stopSpeech();
      };
    }
    try { window.speechSynthesis.speak(u); } catch (e) { stopSpeech(); }
  }

  function toggleSpeech(button, text) {
    if (speakingButton === button) { stopSpeech(); return; }
    speak(text, button);
  }

  function speakAuto(messages) {
    var rows = transcript.querySelectorAll(".msg.bot:not(.typing)");
    var parts = [];
    for (var i = Math.max(rows.length - messages.length, 0); i < rows.length; i++) {
      var b = rows[i].querySelector(".bubble");
      if (b) parts.push(spokenText(null, b));
    }
    var last = rows.length ? rows[rows.length - 1].querySelector("button.speak") : null;
    speak(parts.join("。"), last);
  }

  /* ---------- 说话: speech recognition instead of typing ---------- */

  var recognition = null;

  function setupMic() {
    var SR = window.SpeechRecognition || window.webkitSpeechRecognition;
    if (typeof SR !== "function") { micButton.hidden = true; return; }
    micButton.hidden = false;
    micButton.setAttribute("aria-label", "说话：按一下，然后说出您的问题");
    micButton.addEventListener("click", function () {
      if (recognition) { recognition.stop(); return; }
      var rec;
      try { rec = new SR(); } catch (e) { micButton.hidden = true; return; }
      recognition = rec;
      rec.lang = "zh-CN";
      rec.interimResults = true;
      rec.maxAlternatives = 1;
      var before = input.value;
      stopSpeech();
      micButton.textContent = "说完了";
      micButton.setAttribute("aria-pressed", "true");
      hint.textContent = "正在听，请说出您的问题……";
      rec.onresult = function (ev) {
        var said = "";
        for (var i = 0; i < ev.results.length; i++) said += ev.results[i][0].transcript;
        input.value = (before ? before + " " : "") + said;
        onInput();
      };
      rec.onerror = function () {
        hint.textContent = "没有听清，请再按“说话”试一次，或直接输入。";
      };
      rec.onend = function () {
        recognition = null;
        micButton.textContent = "说话";
        micButton.setAttribute("aria-pressed", "false");
        if (input.value.trim() && input.value !== before) {
          hint.textContent = "请核对上面的文字，然后点“发送”。";
          sendButton.focus();
        } else if (hint.textContent.indexOf("正在听") === 0) {
          hint.textContent = "没有听清，请再按“说话”试一次，或直接输入。";
        }
      };
      try { rec.start(); } catch (e) { rec.onend(); }
    });
  }

  /* ---------- start ---------- */

  function start() {
    transcript = document.getElementById("transcript");
    form = document.getElementById("composer");
    input = document.getElementById("input");
    sendButton = document.getElementById("send");
    counter = document.getElementById("counter");
    hint = document.getElementById("mic-status");
    elderToggle = document.getElementById("elder-toggle");
    autoReadButton = document.getElementById("auto-read");
    micButton = document.getElementById("mic");
    setupModes();
    setupSpeech();

    storageRemove("localStorage", OLD_SENDER_KEY);
    WELCOME = readWelcome();
    entries = loadEntries();
    if (idleTooLong()) {
      entries = [];
      storageRemove("sessionStorage", LAST_KEY);
    }
    // a saved welcome is shown as the page's current one: its buttons follow the catalogue
    entries.forEach(function (e) {
      if (e.role === "bot" && e.msg && e.msg.kind === "welcome") e.msg = WELCOME;
    });
    if (!entries.length) entries.push({ role: "bot", msg: WELCOME });
    saveEntries();
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
      var params = new URLSearchParams(window.location.search);
      id = params.get("entry");
      if (params.get("mode") === "elder") setElder(true, true);
      if ((id !== null || params.get("mode") !== null) && window.history && window.history.replaceState) {
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
