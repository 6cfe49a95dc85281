// commhub studio: the page's behaviour. Vanilla JavaScript, same-origin requests only.
// Everything that comes from templates or typed data is put on the page as text nodes
// (never innerHTML); emails are shown in sandboxed frames (no scripts run in them).
"use strict";

const TTY_CHARS_PER_SECOND = 45.45 / 7.5; // 1 start, 5 data, 1.5 stop bits
const FORMAT_NAMES = {
  large_print_email: "Large-print email",
  relay_text: "Relay text (TTY)",
  audio: "Audio",
};
const PLACEHOLDER = /%\((\w+)\)s/g;

const state = {
  info: null, // GET /api/state
  data: {}, // the values typed in, as text, per variable
  renderSeq: 0,
  renderTimer: null,
  version: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function announce(message) {
  $("status").textContent = message;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("Content-Type") || "";
  const payload = type.includes("json") ? await response.json() : { error: { message: await response.text() } };
  if (!response.ok && response.status !== 422) {
    throw new Error((payload.error && payload.error.message) || response.statusText);
  }
  return { status: response.status, body: payload };
}

function currentTemplate() {
  return state.info.templates.find((t) => t.name === $("template").value);
}

function languageInfo(tag) {
  return state.info.languages.find((l) => l.tag === tag);
}

// -- choices and data ----------------------------------------------------------------------

function fillChoices() {
  const tpl = $("template");
  tpl.replaceChildren(...state.info.templates.map((t) => el("option", { value: t.name, text: t.name })));
  const lang = $("language");
  lang.replaceChildren(
    el("option", { value: "all", text: "All languages" }),
    ...state.info.languages.map((l) => el("option", { value: l.tag, text: `${l.name} (${l.tag})` })),
  );
  const fmt = $("format");
  fmt.replaceChildren(
    el("option", { value: "all", text: "All formats" }),
    ...state.info.formats.map((f) => el("option", { value: f, text: FORMAT_NAMES[f] || f })),
  );
  const tr = $("tr-language");
  tr.replaceChildren(
    ...state.info.languages
      .filter((l) => l.tag !== "en")
      .map((l) => el("option", { value: l.tag, text: `${l.name} (${l.tag})` })),
  );
  $("policy").textContent =
    `Sending needs strings at least "${state.info.require}" (language.require); ` +
    `otherwise the policy "${state.info.policy}" applies. Cells show what a member would get.`;
}

const TYPE_HINTS = {
  text: "text",
  date: "date, like 2026-12-03",
  time: "24-hour time, like 14:30",
  phone: "phone number, like 1-800-555-0100",
  money: "amount, like 12.50",
  integer: "whole number",
};

function fillFields() {
  const t = currentTemplate();
  state.data = { ...t.sample };
  const fields = t.variables.map((v) => {
    const id = `var-${v.name}`;
    const input = el("input", {
      id,
      type: "text",
      value: state.data[v.name] ?? "",
      inputmode: v.type === "integer" ? "numeric" : v.type === "money" ? "decimal" : null,
      spellcheck: v.type === "text" ? null : "false",
      "aria-describedby": `${id}-hint ${id}-error`,
      "data-var": v.name,
      oninput: (e) => {
        state.data[v.name] = e.target.value;
        scheduleRender();
      },
    });
    return el(
      "div",
      { class: "field" },
      el("label", { for: id, text: v.name.replaceAll("_", " ") }),
      input,
      el("p", { id: `${id}-hint`, class: "hint", text: `${TYPE_HINTS[v.type] || v.type}${v.description ? ": " + v.description : ""}` }),
      el("p", { id: `${id}-error`, class: "error" }),
    );
  });
  $("fields").replaceChildren(...fields);
}

function showProblems(problems) {
  for (const input of $("fields").querySelectorAll("input")) {
    const problem = problems.find((p) => p.field === input.dataset.var);
    $(`${input.id}-error`).textContent = problem ? `${input.dataset.var.replaceAll("_", " ")} ${problem.reason}` : "";
    if (problem) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function scheduleRender() {
  clearTimeout(state.renderTimer);
  state.renderTimer = setTimeout(renderGrid, 350);
}

// -- the grid ---------------------------------------------------------------------------

async function renderGrid() {
  const seq = ++state.renderSeq;
  const grid = $("grid");
  grid.setAttribute("aria-busy", "true");
  announce("Rendering…");
  let result;
  try {
    result = await api("POST", "/api/render", {
      template: $("template").value,
      languages: $("language").value,
      formats: $("format").value,
      data: state.data,
    });
  } catch (err) {
    if (seq === state.renderSeq) announce(`Could not render: ${err.message}`);
    grid.setAttribute("aria-busy", "false");
    return;
  }
  if (seq !== state.renderSeq) return; // a newer edit is on its way
  grid.setAttribute("aria-busy", "false");
  const body = result.body;
  showProblems(body.problems);
  if (body.problems.length) {
    announce(`Not rendered: ${body.problems.length} value(s) to fix in the data.`);
    return;
  }
  if (state.version !== null && body.version !== state.version) {
    await refreshInfo(); // templates or catalogs changed on disk
  }
  state.version = body.version;
  showCells(body.cells);
  const failed = body.cells.reduce((n, c) => n + (c.checks ? c.checks.failed.length : 0), 0);
  const held = body.cells.filter((c) => c.status !== "ok").length;
  const summary = `${body.cells.length} cells rendered for ${$("template").value}; ` +
    `${failed} failed check(s); ${held} held or not renderable.`;
  $("grid-summary").textContent = summary;
  announce(summary);
}

function showCells(cells) {
  const byLang = new Map();
  for (const c of cells) {
    if (!byLang.has(c.language)) byLang.set(c.language, []);
    byLang.get(c.language).push(c);
  }
  const rows = [];
  for (const [tag, langCells] of byLang) {
    const info = languageInfo(tag);
    const hid = `row-${tag}`;
    rows.push(
      el(
        "section",
        { class: "lang-row", "aria-labelledby": hid, "data-lang": tag },
        el("h3", { id: hid }, `${info.name} (${tag}) — `, el("span", { lang: tag, dir: info.dir, text: info.native_name })),
        el("div", { class: "cells" }, langCells.map(cellView)),
      ),
    );
  }
  $("grid").replaceChildren(...rows);
}

function stringsLine(s) {
  const ready = s.ready ? "ready" : `not ready (needs ${s.require})`;
  const parts = [`${s.certified} certified`, `${s.reviewed} reviewed`, `${s.fuzzy} fuzzy`, `${s.missing} missing`];
  const who = s.certified_by.map((c) => `certified by ${c.name} on ${c.date}`).join("; ");
  return `${parts.join(", ")} of ${s.total}: ${ready}${who ? "; " + who : ""}`;
}

function belowView(s) {
  return el(
    "details",
    {},
    el("summary", { text: `${s.below.length} string(s) below "${s.require}"` }),
    el("ul", {}, s.below.map((b) => el("li", {}, el("span", { lang: "en", text: b.msgid }), ` (${b.level})`))),
  );
}

function metaList(pairs) {
  return el(
    "dl",
    { class: "meta" },
    pairs.filter(Boolean).map(([k, v, cls]) => el("div", {}, el("dt", { text: k }), el("dd", { class: cls || null }, v))),
  );
}

function checksView(cell, extra) {
  const checks = cell.checks;
  const failed = [...checks.failed, ...extra.filter((e) => !e.ok).map((e) => ({ rule: e.rule, message: e.message }))];
  const passed = [...checks.passed, ...extra.filter((e) => e.ok).map((e) => e.rule)];
  const label = `Checks: ${passed.length} passed, ${failed.length} failed`;
  return el(
    "details",
    { class: "checks", open: failed.length > 0 },
    el("summary", {}, el("span", { class: failed.length ? "state fail" : "state pass", text: label })),
    failed.length
      ? el("ul", {}, failed.map((v) => el("li", {}, el("span", { class: "rule", text: `${v.rule} failed` }), `: ${v.message}`)))
      : null,
    el("p", { text: "Passed:" }),
    el("ul", { class: "passed-list" }, passed.map((r) => el("li", { class: "rule", text: r }))),
  );
}

function cellView(cell) {
  const info = languageInfo(cell.language);
  const name = FORMAT_NAMES[cell.format] || cell.format;
  const hid = `cell-${cell.language}-${cell.format}`;
  const kind = cell.format === "large_print_email" ? "email" : cell.format === "relay_text" ? "relay" : "audio";
  const box = el("article", { class: `cell ${kind}`, "aria-labelledby": hid, "data-format": cell.format });
  box.append(el("h4", { id: hid, text: `${name}, ${info.name}` }));
  const strings = ["Strings", stringsLine(cell.strings), cell.strings.ready ? "state pass" : "state warn"];
  if (cell.status !== "ok") {
    box.append(
      metaList([
        ["Status", cell.status === "held" ? `Held: ${cell.reason}` : `Not renderable: ${cell.reason}`, "state fail"],
        strings,
      ]),
    );
    if (cell.strings.below.length) box.append(belowView(cell.strings));
    return box;
  }
  const rendered = languageInfo(cell.rendered_language);
  let language = `${rendered.name} (${cell.rendered_language})`;
  if (cell.fallback) language += `: English fallback, ${info.name} is not ready`;
  if (cell.machine) language += ": unreviewed machine drafts with the LA-2 notice";
  box.append(
    metaList([
      ["Language", language, cell.fallback || cell.machine ? "state warn" : null],
      ["Subject", el("span", { lang: cell.rendered_language, dir: cell.dir, text: cell.subject })],
      strings,
      cell.notes.length ? ["Notes", cell.notes.join("; ")] : null,
    ]),
  );
  if (cell.strings.below.length) box.append(belowView(cell.strings));
  const extra = [];
  if (cell.relay) box.append(relayView(cell));
  else if (cell.audio) box.append(audioView(cell));
  if (cell.html && !cell.audio) box.append(emailView(cell, extra, () => refreshChecks()));
  const checksHolder = el("div", {});
  const refreshChecks = () => checksHolder.replaceChildren(checksView(cell, extra));
  refreshChecks();
  box.append(checksHolder);
  return box;
}

function fitFrame(frame) {
  try {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) frame.style.height = `${doc.documentElement.scrollHeight + 8}px`;
  } catch (e) {
    /* a frame we cannot read keeps its height */
  }
}

function emailView(cell, extra, onMeasured) {
  const info = languageInfo(cell.language);
  const real = el("iframe", {
    class: "frame-real",
    sandbox: "allow-same-origin",
    title: `Large-print email, ${info.name}, at real size`,
  });
  const narrow = el("iframe", {
    class: "frame-320",
    sandbox: "allow-same-origin",
    title: `Large-print email, ${info.name}, 320 pixels wide`,
  });
  real.addEventListener("load", () => fitFrame(real));
  narrow.addEventListener("load", () => {
    fitFrame(narrow);
    // EM-9: no sideways scroll at 320 CSS px (WCAG 1.4.10), measured in this browser.
    const doc = narrow.contentDocument;
    if (!doc || !doc.documentElement) return;
    const over = doc.documentElement.scrollWidth - doc.documentElement.clientWidth;
    extra.push({
      rule: "EM-9",
      ok: over <= 0,
      message: over > 0 ? `scrolls sideways by ${over}px at 320 px wide (measured here)` : "",
    });
    onMeasured();
  });
  real.srcdoc = cell.html;
  narrow.srcdoc = cell.html;
  return el(
    "div",
    { class: "frames" },
    el("figure", {}, el("figcaption", { text: "As a mail client shows it (real size)" }), real),
    el("figure", {}, el("figcaption", { text: "320 px wide (a phone)" }), narrow),
  );
}

function relayView(cell) {
  const r = cell.relay;
  const info = languageInfo(cell.rendered_language);
  const blocks = [ttyBlock(`Relay text, ${info.name}`, r, cell.rendered_language, r.tty_encodable)];
  if (r.tty_alternative) {
    // Cyrillic relay text also comes romanised: what a TTY (Baudot) line can carry.
    blocks.push(
      el("h5", { text: "Romanised for a TTY" }),
      ttyBlock(`Relay text romanised for a TTY, ${info.name}`, r.tty_alternative, `${cell.rendered_language}-Latn`, true),
    );
  }
  return el("div", {}, blocks);
}

function ttyBlock(label, r, lang, latin) {
  const screen = el("pre", {
    class: `tty${latin ? " latin" : ""}`,
    lang,
    tabindex: "0",
    "aria-label": label,
    text: r.text.replaceAll("\r\n", "\n"),
  });
  const minutes = `${r.tty_minutes.toFixed(2)} minutes (${r.tty_seconds} s) at 45.45 baud, ` +
    `${r.shifts} letters/figures shifts included`;
  const safe = r.baudot_safe
    ? ["Baudot-safe", "yes: every character prints on a TTY", "state pass"]
    : ["Baudot-safe", latin ? "no: characters a TTY cannot print" : "no: this script cannot go over a TTY (UTF-8 for IP relay, SMS or email; TT-9)", latin ? "state fail" : "state warn"];
  const play = el("button", { type: "button", class: "secondary", text: "Play as TTY" });
  const stop = el("button", { type: "button", class: "secondary", text: "Stop", disabled: true });
  let timer = null;
  const full = screen.textContent;
  const finish = (message) => {
    clearInterval(timer);
    timer = null;
    screen.textContent = full;
    screen.classList.remove("playing");
    play.disabled = false;
    stop.disabled = true;
    announce(message);
  };
  play.addEventListener("click", () => {
    let shown = 0;
    screen.textContent = "";
    screen.classList.add("playing");
    play.disabled = true;
    stop.disabled = false;
    stop.focus();
    announce(`Playing the relay text at TTY speed: ${r.tty_seconds} seconds.`);
    // About six characters a second, as a 45.45-baud TTY prints them.
    timer = setInterval(() => {
      shown += 1;
      screen.textContent = full.slice(0, shown);
      if (shown >= full.length) finish("The relay text has finished playing.");
    }, 1000 / TTY_CHARS_PER_SECOND);
  });
  stop.addEventListener("click", () => {
    finish("Stopped; the whole relay text is shown.");
    play.focus();
  });
  return el(
    "div",
    {},
    metaList([
      ["Characters", `${r.chars}` + (r.core_chars !== null && r.core_chars !== undefined ? ` (the message itself: ${r.core_chars})` : "")],
      ["TTY time", minutes],
      safe,
    ]),
    screen,
    el("div", {}, play, stop),
  );
}

function audioView(cell) {
  const a = cell.audio;
  const info = languageInfo(cell.rendered_language);
  const player = el("audio", {
    controls: true,
    preload: "metadata",
    src: `/audio/${a.key}.mp3`,
    "aria-label": `Audio message, ${info.name}`,
  });
  return el(
    "div",
    {},
    player,
    metaList([
      ["Duration", `${a.duration_s} s`],
      ["Voice", a.voice],
      ["Size", `${Math.round(a.bytes / 1024)} KB MP3`],
    ]),
    el(
      "details",
      { open: true },
      el("summary", { text: "Transcript (what the voice says)" }),
      el("p", { class: "transcript", lang: cell.rendered_language, dir: cell.dir, text: a.transcript }),
    ),
  );
}

// -- translator view -------------------------------------------------------------------

function highlighted(text, lang, wanted) {
  const out = el("span", { lang });
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    out.append(text.slice(last, m.index));
    const known = !wanted || wanted.includes(m[1]);
    out.append(el("mark", { class: known ? null : "missing", text: m[0] }));
    last = m.index + m[0].length;
  }
  out.append(text.slice(last));
  return out;
}

function placeholderCheck(entry, forms) {
  const want = new Set(entry.placeholders);
  for (const form of forms) {
    if (!form) continue;
    const got = new Set([...form.matchAll(PLACEHOLDER)].map((m) => m[1]));
    const lost = [...want].filter((p) => !got.has(p));
    const extra = [...got].filter((p) => !want.has(p));
    if (lost.length || extra.length) {
      const bits = [];
      if (lost.length) bits.push("lost " + lost.map((p) => `%(${p})s`).join(", "));
      if (extra.length) bits.push("unknown " + extra.map((p) => `%(${p})s`).join(", "));
      return bits.join("; ");
    }
  }
  return "";
}

function levelText(entry) {
  if (entry.level === "certified" && entry.certified_by) {
    return `certified by ${entry.certified_by.name} on ${entry.certified_by.date}`;
  }
  if (entry.level === "reviewed" && entry.reviewed_by) {
    return `reviewed by ${entry.reviewed_by.name} on ${entry.reviewed_by.date}`;
  }
  if (entry.level === "reviewed") return "reviewed (by the team; no name recorded)";
  if (entry.level === "fuzzy") return "fuzzy: a draft or sent back, not sent as reviewed";
  return entry.problem ? `missing: ${entry.problem}` : "missing";
}

function stringView(entry, index, total, view) {
  const lang = view.language;
  const id = `s-${index}`;
  const forms = Array.isArray(entry.msgstr) ? entry.msgstr : [entry.msgstr];
  const isPlural = entry.msgid_plural !== null;
  const nforms = isPlural ? view.plural_forms : 1;
  const areas = [];
  const fields = [];
  const error = el("p", { id: `${id}-error`, class: "error" });
  const live = el("p", { id: `${id}-status`, role: "status" });
  for (let i = 0; i < nforms; i += 1) {
    const tid = `${id}-t${i}`;
    const area = el("textarea", {
      id: tid,
      lang: lang.tag,
      dir: lang.dir,
      "aria-describedby": `${id}-ph ${id}-error`,
      spellcheck: "true",
    });
    area.value = forms[i] || "";
    areas.push(area);
    const label = isPlural ? `Translation, plural form ${i + 1} of ${nforms} (${lang.name})` : `Translation (${lang.name})`;
    fields.push(el("div", { class: "field-wide" }, el("label", { for: tid, text: label }), area));
  }
  const phLine = el("p", { id: `${id}-ph`, class: "hint" });
  // The translation as typed, its placeholders highlighted (unknown ones marked).
  const preview = el("p", { class: "source" });
  const updatePh = () => {
    preview.replaceChildren(
      "As typed: ",
      ...areas.map((a, i) => el("span", { lang: lang.tag, dir: lang.dir }, i ? " | " : "", highlighted(a.value, lang.tag, entry.placeholders))),
    );
    const problem = placeholderCheck(entry, areas.map((a) => a.value));
    phLine.textContent = entry.placeholders.length
      ? `Placeholders to keep: ${entry.placeholders.map((p) => `%(${p})s`).join(", ")}.` + (problem ? ` Now: ${problem}.` : " All present.")
      : "No placeholders.";
    for (const a of areas) {
      if (problem) a.setAttribute("aria-invalid", "true");
      else a.removeAttribute("aria-invalid");
    }
    return problem;
  };
  areas.forEach((a) => a.addEventListener("input", updatePh));
  updatePh();
  const act = async (action) => {
    const name = $("tr-name").value.trim();
    $("tr-name-error").textContent = "";
    $("tr-name").removeAttribute("aria-invalid");
    error.textContent = "";
    if (!name) {
      $("tr-name-error").textContent = "Enter your name first: it is recorded in the catalog.";
      $("tr-name").setAttribute("aria-invalid", "true");
      $("tr-name").focus();
      return;
    }
    const problem = updatePh();
    if (problem && action !== "send_back") {
      error.textContent = `Not saved: placeholders ${problem}.`;
      areas[0].focus();
      return;
    }
    const values = areas.map((a) => a.value);
    const result = await api("POST", "/api/strings", {
      template: $("template").value,
      lang: lang.tag,
      msgid: entry.msgid,
      action,
      name,
      msgstr: isPlural ? values : values[0],
    });
    if (result.status !== 200) {
      const e = result.body.error;
      if (e.field === "name") {
        $("tr-name-error").textContent = e.message;
        $("tr-name").setAttribute("aria-invalid", "true");
        $("tr-name").focus();
      } else {
        error.textContent = `Not saved: ${e.message}`;
        areas[0].focus();
      }
      return;
    }
    const done = { save: "Saved", approve: "Approved (reviewed)", certify: "Certified", send_back: "Sent back (fuzzy)" }[action];
    const message = `${done}: written to ${result.body.path}. Now ${levelText(result.body.entry)}.`;
    live.textContent = message;
    announce(message);
    levelLine.textContent = `State: ${levelText(result.body.entry)}`;
    entry.level = result.body.entry.level;
    await loadRendered();
    scheduleRender();
  };
  const levelLine = el("p", { class: "state", text: `State: ${levelText(entry)}` });
  const certify = el("button", {
    type: "button",
    text: "Certify",
    disabled: !$("tr-qualified").checked,
    "data-certify": "",
    onclick: () => act("certify"),
  });
  return el(
    "article",
    { class: "string", "aria-labelledby": `${id}-h`, "data-msgid": entry.msgid },
    el("h3", { id: `${id}-h`, text: `String ${index + 1} of ${total}` }),
    levelLine,
    el("p", { class: "label", text: "English source:" }),
    el("p", { class: "source" }, highlighted(entry.msgid, "en")),
    isPlural ? el("p", { class: "source" }, "Plural: ", highlighted(entry.msgid_plural, "en")) : null,
    entry.notes.length ? el("p", { class: "notes", text: `Notes: ${entry.notes.join(" ")}` }) : null,
    fields,
    entry.placeholders.length ? preview : null,
    phLine,
    error,
    el(
      "div",
      {},
      el("button", { type: "button", class: "secondary", text: "Save edit", onclick: () => act("save") }),
      el("button", { type: "button", text: "Approve (reviewed)", onclick: () => act("approve") }),
      certify,
      el("button", { type: "button", class: "secondary", text: "Send back (fuzzy)", onclick: () => act("send_back") }),
    ),
    live,
  );
}

async function loadRendered() {
  const lang = $("tr-language").value;
  const result = await api("GET", `/api/strings?template=${encodeURIComponent($("template").value)}&lang=${encodeURIComponent(lang)}`);
  const r = result.body.rendered;
  const frame = $("tr-frame");
  const note = $("tr-rendered-note");
  if (r.error) {
    note.textContent = `Cannot render: ${r.error}`;
    frame.srcdoc = "";
  } else {
    note.textContent = r.fallback
      ? "Shown in English: some strings are missing."
      : r.machine
        ? "Drafts are shown as members would get them under machine_with_notice."
        : "Every string here may be sent.";
    frame.srcdoc = r.html;
  }
  frame.onload = () => fitFrame(frame);
  return result.body;
}

async function loadStrings() {
  const view = await loadRendered();
  const holder = $("tr-strings");
  if (!view.has_catalog) {
    holder.replaceChildren(el("p", { text: `There is no catalog for ${view.language.name} yet: run commhub translate extract or translate draft.` }));
    return;
  }
  const total = view.entries.length;
  holder.replaceChildren(...view.entries.map((e, i) => stringView(e, i, total, view)));
}

// -- start -------------------------------------------------------------------------------

async function refreshInfo() {
  const chosen = { template: $("template").value, language: $("language").value, format: $("format").value, tr: $("tr-language").value };
  state.info = (await api("GET", "/api/state")).body;
  fillChoices();
  for (const [id, value] of [["template", chosen.template], ["language", chosen.language], ["format", chosen.format], ["tr-language", chosen.tr]]) {
    if (value && [...$(id).options].some((o) => o.value === value)) $(id).value = value;
  }
  if (state.info.error) announce(`A changed file could not be loaded; showing the last good version: ${state.info.error}`);
}

async function start() {
  state.info = (await api("GET", "/api/state")).body;
  state.version = state.info.version;
  fillChoices();
  const params = new URLSearchParams(location.search);
  for (const id of ["template", "language", "format"]) {
    const v = params.get(id);
    if (v && [...$(id).options].some((o) => o.value === v)) $(id).value = v;
  }
  if (!params.get("language")) $("language").value = state.info.languages.length > 1 ? state.info.languages[1].tag : "en";
  fillFields();
  $("template").addEventListener("change", () => {
    fillFields();
    showProblems([]);
    renderGrid();
    loadStrings();
  });
  $("language").addEventListener("change", renderGrid);
  $("format").addEventListener("change", renderGrid);
  $("reset").addEventListener("click", () => {
    fillFields();
    showProblems([]);
    renderGrid();
  });
  $("tr-language").addEventListener("change", loadStrings);
  $("tr-qualified").addEventListener("change", () => {
    for (const b of document.querySelectorAll("[data-certify]")) b.disabled = !$("tr-qualified").checked;
  });
  document.body.dataset.ready = "true";
  await Promise.all([renderGrid(), loadStrings()]);
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch((err) => announce(`The studio could not start: ${err.message}`));
});
