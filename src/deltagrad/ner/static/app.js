// The NER page: tag the text through POST /predict, explain a clicked word through POST
// /explain. Text from the user or the model is only ever set as textContent; the one piece of
// markup inserted, the graph's SVG, is generated (and escaped) by the server.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;  // the last /predict answer and the text it was for

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function number(value, digits = 3) {
  return Number(value).toPrecision(digits).replace(/\.?0+e/, "e").replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
}

async function loadModel() {
  try {
    const response = await fetch("/model");
    const info = await response.json();
    const scores = info.dev_scores && info.dev_scores[info.decode];
    const f1 = scores ? `, dev F1 ${number(scores.f1, 4)}` : "";
    $("model-info").textContent =
      `window of ${2 * info.window + 1} words, ${info.vocab_size.toLocaleString()} words, ` +
      `tags ${info.tags.join(" ")}, ${info.decode} decoding${f1}`;
  } catch (error) {
    $("model-info").textContent = `could not read /model: ${error.message}`;
  }
}

async function tag() {
  const text = $("text").value;
  $("tag").disabled = true;
  $("status").textContent = "tagging…";
  $("status").classList.remove("error");
  try {
    const started = performance.now();
    const record = await post("/predict", { text });
    current = { text, record };
    render(record);
    $("status").textContent =
      `${record.tokens.length} tokens, ${record.entities.length} entities ` +
      `(${Math.round(performance.now() - started)} ms)`;
    $("why").hidden = true;
  } catch (error) {
    $("status").textContent = `error: ${error.message}`;
    $("status").classList.add("error");
  } finally {
    $("tag").disabled = false;
  }
}

function render(record) {
  // Offsets count code points: index the text as an array of code points, not UTF-16 units.
  const chars = Array.from(record.text);
  const slice = (start, end) => chars.slice(start, end).join("");
  const result = $("result");
  result.replaceChildren();
  const entityAt = new Map(record.entities.map((e) => [e.start, e]));
  const tokenSpan = (i) => {
    const span = element("span", "tok", record.tokens[i]);
    span.dataset.token = String(i);
    span.title = `${record.tokens[i]}: ${record.tags[i]} (click: why?)`;
    return span;
  };
  let position = 0;
  let i = 0;
  while (i < record.tokens.length) {
    const [start] = record.offsets[i];
    result.append(slice(position, start));
    const entity = entityAt.get(i);
    if (entity) {
      const mark = element("mark", `ent ent-${entity.type}`);
      mark.dataset.type = entity.type;
      mark.dataset.confidence = String(entity.confidence);
      mark.title = `${entity.type} · confidence ${number(entity.confidence, 3)}`;
      for (let k = entity.start; k < entity.end; k++) {
        if (k > entity.start) mark.append(slice(record.offsets[k - 1][1], record.offsets[k][0]));
        mark.append(tokenSpan(k));
      }
      result.append(mark);
      position = record.offsets[entity.end - 1][1];
      i = entity.end;
    } else {
      result.append(tokenSpan(i));
      position = record.offsets[i][1];
      i += 1;
    }
  }
  result.append(slice(position, chars.length));
  const types = [...new Set(record.entities.map((e) => e.type))].sort();
  $("legend").replaceChildren(...types.map((t) => element("mark", `ent ent-${t}`, t)));
  $("result-section").hidden = false;
}

async function why(token, span) {
  document.querySelectorAll(".tok.selected").forEach((s) => s.classList.remove("selected"));
  span.classList.add("selected");
  $("status").textContent = `explaining “${span.textContent}”…`;
  try {
    const answer = await post("/explain", { text: current.text, token });
    showWhy(answer);
    $("status").textContent = "";
  } catch (error) {
    $("status").textContent = `error: ${error.message}`;
    $("status").classList.add("error");
  }
}

function showWhy(answer) {
  $("why-word").textContent = answer.word;
  $("why-tag").textContent = answer.tag;
  const p = answer.probabilities[answer.tag];
  const entity = answer.entity
    ? ` It is part of the ${answer.entity.type} entity “${answer.entity.text}”, whose ` +
      `confidence (its probability under the BIO lattice) is ${number(answer.entity.confidence)}.`
    : "";
  $("why-decision").textContent =
    `The decision explained: ${answer.decision} = ${number(answer.value, 4)}` +
    ` (after the softmax, the window classifier gives ${answer.tag} probability ` +
    `${number(p)}).${entity}`;

  const body = $("window").querySelector("tbody");
  body.replaceChildren();
  const largest = Math.max(...answer.window.map((row) => Math.abs(row.contribution)), 1e-12);
  // (the rows of the window positions; a last row may hold the other inputs' share)
  for (const row of answer.window) {
    const tr = element("tr", row.offset === 0 ? "centre" : "");
    tr.dataset.offset = String(row.offset);
    tr.append(element("td", "num", row.offset > 0 ? `+${row.offset}` : String(row.offset)));
    tr.append(element("td", "", row.word));
    tr.append(element("td", "num contribution", number(row.contribution, 3)));
    const barCell = element("td", "bar-cell");
    const bar = element("span", `bar ${row.contribution >= 0 ? "pos" : "neg"}`);
    bar.style.width = `${(100 * Math.abs(row.contribution)) / largest}%`;
    barCell.append(bar);
    tr.append(barCell);
    const parts = Object.entries(row.features).map(([k, v]) => `${k} ${number(v, 2)}`);
    tr.append(element("td", "muted", parts.join(", ")));
    body.append(tr);
  }
  if (answer.other_features !== null) {  // inputs that are not one per window position
    const tr = element("tr", "other");
    tr.append(element("td", "num", "—"));
    tr.append(element("td", "muted", "spelling, document, gazetteer and topic features"));
    tr.append(element("td", "num contribution", number(answer.other_features, 3)));
    tr.append(element("td", "bar-cell"));
    tr.append(element("td", "muted", "the rest of the input vector"));
    body.append(tr);
  }

  // The server builds the SVG from the trace and escapes every label in it.
  $("graph").innerHTML = answer.svg;
  const names = new Map(answer.graph.nodes.map((n) => [n.id, n.label]));
  const edges = $("edges").querySelector("tbody");
  edges.replaceChildren();
  const describe = (s) => (s ? (s.values ? `[${s.values.map((v) => number(v, 3)).join(", ")}]`
    : `‖·‖ ${number(s.norm)} (${s.shape.join("×")}, ${number(s.min)}…${number(s.max)})`) : "");
  for (const edge of answer.graph.edges) {
    const tr = element("tr");
    tr.append(element("td", "", `${names.get(edge.from)} → ${names.get(edge.to)}`));
    tr.append(element("td", "", describe(edge.upstream)));
    const local = edge.local.values ? `${edge.local.rule}: ${describe(edge.local.values)}`
      : edge.local.rule;
    tr.append(element("td", "", local));
    tr.append(element("td", "", describe(edge.downstream)));
    edges.append(tr);
  }
  $("why").hidden = false;
  $("why").scrollIntoView({ behavior: "smooth", block: "start" });
}

document.addEventListener("DOMContentLoaded", () => {
  loadModel();
  $("tag").addEventListener("click", tag);
  $("result").addEventListener("click", (event) => {
    const span = event.target.closest(".tok");
    if (span && current) why(Number(span.dataset.token), span);
  });
});
