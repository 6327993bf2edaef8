// The Sigil explorer: reads this node's API and renders what it says. Every value reaches the
// page as text (textContent), never as markup: names and records are written by anyone.
"use strict";

const $ = (id) => document.getElementById(id);

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const enc = encodeURIComponent;

// A link to one of this node's own endpoints or views (never a URL from the data).
function link(text, path, cls) {
  const safe = path.startsWith("/v1/") || path.startsWith("#") ? path : "#";
  return el("a", cls ? { href: safe, class: cls } : { href: safe }, text);
}
const proof = (path) => link("proof", path, "proof");
const source = (path) => link("json", path, "proof");

async function api(path) {
  try {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { body = text; }
    return { ok: response.ok, status: response.status, body };
  } catch (e) {
    return { ok: false, status: 0, body: { error: { message: String(e) } } };
  }
}

const message = (r) => (r.body && r.body.error && r.body.error.message) || `HTTP ${r.status}`;

// Any JSON value as nested tables and lists.
function render(value) {
  if (value === null || value === undefined) return el("span", { class: "estimate" }, "none");
  if (Array.isArray(value)) {
    if (value.length === 0) return el("span", { class: "estimate" }, "none");
    return el("ol", {}, value.map((v) => el("li", {}, render(v))));
  }
  if (typeof value === "object") {
    return el("table", {}, Object.entries(value).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, render(v)))));
  }
  return el("code", {}, String(value));
}

function rows(pairs) {
  return el("table", {}, pairs.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
}

const when = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

// The chain's status, and the mean time between the recent blocks (for dates of heights).
let chain = null;
async function loadChain() {
  const [status, blocks] = await Promise.all([api("/v1/status"), api("/v1/blocks?limit=20")]);
  if (!status.ok) {
    $("status").replaceChildren(el("p", { class: "error" }, "Cannot read /v1/status: " + message(status)));
    return null;
  }
  const s = status.body;
  const list = blocks.ok ? blocks.body : [];
  let interval = s.params.block_interval_ms;
  if (list.length >= 2) {
    const newest = list[0], oldest = list[list.length - 1];
    interval = (newest.time_ms - oldest.time_ms) / (newest.height - oldest.height);
  }
  chain = { status: s, blocks: list, interval };
  return chain;
}

// The date a future (or past) height is reached, estimated from the recent block times.
function dateOf(height) {
  const tip = chain.status.tip;
  return when(tip.time_ms + (height - tip.height) * chain.interval);
}

function showChain() {
  const s = chain.status;
  $("status").replaceChildren(rows([
    ["chain", el("code", {}, s.chain_id)],
    ["height", [el("code", {}, String(s.tip.height)), " ", link("block", "#block/" + s.tip.height), " ", source("/v1/status")]],
    ["last block", el("code", {}, when(s.tip.time_ms))],
    ["state root", el("code", {}, s.tip.state_root)],
    ["mempool", el("code", {}, `${s.mempool_txs} transactions, ${s.mempool_bytes} bytes`)],
  ]));
  $("validators").replaceChildren(render(s.validators), el("h3", {}, "Changes"), el("div", { id: "changes" }, "Loading…"));
  api("/v1/validators/changes?order=desc&limit=20").then((r) => {
    const changes = $("changes");
    if (!changes) return;
    if (!r.ok) changes.replaceChildren(el("p", { class: "error" }, message(r)));
    else if (r.body.items.length === 0) changes.replaceChildren("None: the genesis validators decide.");
    else changes.replaceChildren(el("table", { class: "list" }, el("tr", {}, el("th", {}, "height"), el("th", {}, "validators from the next block")),
      r.body.items.map((c) => el("tr", {}, el("td", {}, link(String(c.header.height), "#block/" + c.header.height)), el("td", {}, render(c.validators))))));
  });
  $("blocks").replaceChildren(el("table", { class: "list" },
    el("tr", {}, el("th", {}, "height"), el("th", {}, "time"), el("th", {}, "transactions")),
    chain.blocks.map((b) => el("tr", {},
      el("td", {}, link(String(b.height), "#block/" + b.height)),
      el("td", {}, el("code", {}, when(b.time_ms))),
      el("td", {}, b.txs.length === 0 ? "none" : el("ol", {}, b.txs.map((t) => el("li", {}, el("code", {}, t.op), " ", link(t.id.slice(0, 16) + "…", "/v1/txs/" + t.id))))),
    ))));
}

function show(...nodes) {
  $("result").replaceChildren(...nodes);
}

function notFound(text) {
  show(el("p", { class: "notfound" }, text));
}

// A record's text form `HOST TTL TYPE DATA` as table cells.
function recordRow(record) {
  const parts = String(record).split(" ");
  return el("tr", {}, el("td", {}, el("code", {}, parts[0])), el("td", {}, el("code", {}, parts[1] || "")),
    el("td", {}, el("code", {}, parts[2] || "")), el("td", {}, el("code", { class: "record-data" }, parts.slice(3).join(" "))));
}

async function showName(name) {
  const n = enc(name);
  const r = await api(`/v1/names/${n}`);
  if (r.status === 404) return notFound(`The name “${name}” is not registered on this chain (${message(r)}).`);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  const e = r.body;
  const [history, certs, company] = await Promise.all([
    api(`/v1/names/${n}/history?order=desc&limit=50`), api(`/v1/names/${n}/certs`), api(`/v1/companies/${n}`)]);
  const nodes = [
    el("h2", {}, "Name ", el("code", { id: "name-title" }, e.name), proof(`/v1/names/${n}/proof`), source(`/v1/names/${n}`)),
    rows([
      ["status", el("span", { class: e.active ? "active" : "inactive" }, e.active ? "active" : "expired")],
      ["owner", [el("code", {}, e.owner), " ", source(`/v1/accounts/${enc(e.owner)}`)]],
      ["registered at", link(String(e.registered_at), "#block/" + e.registered_at)],
      ["updated at", link(String(e.updated_at), "#block/" + e.updated_at)],
      ["expires", [el("code", {}, `height ${e.expires_at}`), " ≈ ", el("code", {}, dateOf(e.expires_at)),
        " ", el("span", { class: "estimate" }, "(date estimated from recent block times)")]],
    ]),
    el("h3", {}, "Records"),
    e.records.length === 0 ? el("p", {}, "No records.") : el("table", { class: "list", id: "records" },
      el("tr", {}, el("th", {}, "host"), el("th", {}, "TTL"), el("th", {}, "type"), el("th", {}, "data")),
      e.records.map(recordRow)),
  ];
  if (company.ok) nodes.push(el("p", {}, "This name's company: ", link(company.body.id, "#company/" + enc(company.body.id))));
  nodes.push(el("h3", {}, "Certificates"));
  if (!certs.ok) nodes.push(el("p", { class: "error" }, message(certs)));
  else if (certs.body.certs.length === 0) nodes.push(el("p", {}, "No certificates."));
  else nodes.push(el("table", { class: "list" }, el("tr", {}, el("th", {}, "SHA-256"), el("th", {}, "status"), el("th", {}, "")),
    certs.body.certs.map((c) => el("tr", {},
      el("td", {}, link(c.cert_sha256, `#cert/${n}/${enc(c.cert_sha256)}`)),
      el("td", {}, el("span", { class: c.active ? "active" : "inactive" }, c.active ? "active" : c.revoked ? "revoked" : "not active")),
      el("td", {}, proof(`/v1/names/${n}/certs/${enc(c.cert_sha256)}/proof`))))));
  nodes.push(el("h3", {}, "History (newest first)"), source(`/v1/names/${n}/history`));
  nodes.push(history.ok ? render(history.body.items) : el("p", { class: "error" }, message(history)));
  show(...nodes);
}

async function showCert(name, sha256) {
  const path = `/v1/names/${enc(name)}/certs/${enc(sha256)}`;
  const r = await api(path);
  if (r.status === 404) return notFound(`No certificate ${sha256} is registered for “${name}” (${message(r)}).`);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  show(el("h2", {}, "Certificate of ", link(name, "#name/" + enc(name)), proof(path + "/proof"), source(path)),
    el("p", {}, el("span", { class: r.body.active ? "active" : "inactive" }, r.body.active ? "active" : "not active"),
      ` at height ${r.body.height}`),
    render(r.body));
}

async function showFingerprint(sha256) {
  const path = `/v1/certs/${enc(sha256)}`;
  const r = await api(path);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  if (r.body.certs.length === 0) return notFound(`No name has a certificate with SHA-256 ${sha256}.`);
  show(el("h2", {}, "Certificate ", el("code", {}, sha256), source(path)),
    el("table", { class: "list" }, el("tr", {}, el("th", {}, "name"), el("th", {}, "status"), el("th", {}, "")),
      r.body.certs.map((c) => el("tr", {},
        el("td", {}, link(c.name, `#cert/${enc(c.name)}/${enc(sha256)}`)),
        el("td", {}, el("span", { class: c.active ? "active" : "inactive" }, c.active ? "active" : "not active")),
        el("td", {}, proof(`/v1/names/${enc(c.name)}/certs/${enc(sha256)}/proof`))))));
}

async function showIdentity(id) {
  const path = `/v1/identities/${enc(id)}`;
  const r = await api(path);
  if (r.status === 404) return notFound(`No identity “${id}” is registered (${message(r)}).`);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  const { history, history_next_cursor, height, ...entry } = r.body;
  show(el("h2", {}, "Identity ", el("code", {}, id), proof(path + "/proof"), source(path)),
    render(entry),
    el("h3", {}, "Key history (oldest first)"), render(history),
    history_next_cursor ? link("more", `${path}/history?cursor=${enc(history_next_cursor)}`) : null);
}

// A register as a table: a row per holder, a column per class; at the tip, each balance links
// to its proof.
function capTable(t, atTip) {
  const c = enc(t.company);
  const classes = t.classes.map((k) => k.class);
  return el("table", { class: "list" },
    el("tr", {}, el("th", {}, "holder"), classes.map((k) => el("th", {}, k)), el("th", {}, "status")),
    t.holders.map((h) => el("tr", {},
      el("td", {}, el("code", {}, h.holder), " ", source(`/v1/companies/${c}/holders/${enc(h.holder)}`)),
      h.balances.map((b, i) => el("td", {}, el("code", {}, String(b)),
        atTip ? proof(`/v1/companies/${c}/holders/${enc(h.holder)}/balances/${enc(classes[i])}/proof`) : null)),
      el("td", {}, el("span", { class: h.active ? "active" : "inactive" }, h.active ? "active" : "revoked")))),
    el("tr", {}, el("th", {}, "outstanding"), t.classes.map((k) => el("th", {}, String(k.outstanding))), el("th", {}, "")));
}

async function showCompany(id, at) {
  const c = enc(id);
  const r = await api(`/v1/companies/${c}`);
  if (r.status === 404) return notFound(`No company “${id}” exists (${message(r)}).`);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  const height = at === undefined ? chain.status.tip.height : at;
  const [table, log, offerings] = await Promise.all([
    api(`/v1/companies/${c}/captable?at=${height}`), api(`/v1/companies/${c}/register?order=desc&limit=50`),
    api(`/v1/companies/${c}/offerings?limit=100`)]);
  const form = el("form", { id: "at-form" }, el("input", { id: "at", type: "number", min: "0", value: String(height), "aria-label": "height" }),
    el("button", { type: "submit" }, "Cap table at this height"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#company/${c}@${Number($("at").value)}`;
  });
  const nodes = [el("h2", {}, "Company ", el("code", {}, r.body.id), source(`/v1/companies/${c}`)), render(r.body),
    el("h3", {}, `Cap table at height ${height}`), form];
  if (!table.ok) nodes.push(el("p", { class: "notfound" }, message(table)));
  else nodes.push(el("div", { id: "captable" }, capTable(table.body, height === chain.status.tip.height)),
    link("CSV", `/v1/companies/${c}/captable?at=${height}&format=csv`));
  const existing = offerings.ok ? offerings.body.items.filter((o) => o.proposed_at <= height) : [];
  if (existing.length > 0) nodes.push(el("h3", {}, `Offerings by height ${height}`), render(existing));
  nodes.push(el("h3", {}, "Register history (newest first)"), source(`/v1/companies/${c}/register`),
    log.ok ? render(log.body.items) : el("p", { class: "error" }, message(log)));
  show(...nodes);
}

async function showBlock(height) {
  const path = `/v1/blocks/${height}`;
  const r = await api(path);
  if (r.status === 404) return notFound(`No block at height ${height} (${message(r)}).`);
  if (!r.ok) return show(el("p", { class: "error" }, message(r)));
  const b = r.body.block;
  show(el("h2", {}, `Block ${height}`, source(path)),
    el("p", {}, "Made ", el("code", {}, when(b.header.time_ms)), " by ", el("code", {}, b.header.proposer),
      " · ", link("previous", "#block/" + (height - 1)), " · ", link("next", "#block/" + (height + 1))),
    render(b.header), el("h3", {}, `Transactions (${b.txs.length})`), render(b.txs),
    el("h3", {}, "Commit"), render(r.body.commit));
}

// What the search box holds, as a view: `#kind/value`.
function route(input) {
  const q = input.trim();
  if (q === "") return "#";
  const [kind, rest] = q.includes(":") ? [q.slice(0, q.indexOf(":")), q.slice(q.indexOf(":") + 1).trim()] : [null, q];
  if (kind && ["name", "identity", "company", "block"].includes(kind)) return `#${kind}/${enc(rest)}`;
  const words = q.split(/\s+/);
  if (words.length === 2 && /^[0-9a-fA-F]{64}$/.test(words[1])) return `#cert/${enc(words[0])}/${enc(words[1])}`;
  if (/^[0-9]+$/.test(q)) return `#block/${q}`;
  if (/^[0-9a-fA-F]{64}$/.test(q)) return `#fingerprint/${q}`;
  if (q.includes(".")) return `#name/${enc(q)}`;
  return `#id/${enc(q)}`;
}

async function view() {
  if (!chain) await loadChain();
  if (!chain) return;
  const [kind, ...parts] = location.hash.slice(1).split("/");
  const arg = parts.map(decodeURIComponent).join("/");
  if (kind === "name") return showName(arg);
  if (kind === "identity") return showIdentity(arg);
  if (kind === "block") return showBlock(Number(arg));
  if (kind === "cert") return showCert(decodeURIComponent(parts[0]), decodeURIComponent(parts[1] || ""));
  if (kind === "company") {
    const [id, at] = arg.split("@");
    return showCompany(id, at === undefined ? undefined : Number(at));
  }
  if (kind === "fingerprint") return showFingerprint(arg);
  if (kind === "id") {
    // A bare word: an identity or a company.
    const [identity, company] = await Promise.all([api(`/v1/identities/${enc(arg)}`), api(`/v1/companies/${enc(arg)}`)]);
    if (company.ok) return showCompany(arg);
    if (identity.ok) return showIdentity(arg);
    return notFound(`Nothing is called “${arg}”: no identity or company by that id.`);
  }
  show();
}

async function start() {
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const next = route($("q").value);
    if (location.hash === next) view(); else location.hash = next;
  });
  window.addEventListener("hashchange", view);
  if (await loadChain()) showChain();
  await view();
}

start();
