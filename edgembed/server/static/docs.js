// The API docs page: reads this server's OpenAPI schema and shows each route, its body and its
// answers. Talks to this server only; builds the page with textContent, never HTML strings.
"use strict";

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// Docstrings break their lines at 100 characters: keep only the paragraph breaks.
function paragraphs(text) {
  return text.replace(/([^\n])\n(?!\n)/g, "$1 ");
}

function refName(ref) {
  return ref.split("/").pop();
}

// A schema in one line: its type, or the bodies it refers to, and its limits.
function describe(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema.$ref);
  const choices = schema.oneOf || schema.anyOf;
  let text = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || "any";
  if (choices) text = choices.map(describe).join(" | ");
  if (schema.items) text = "array of " + describe(schema.items);
  if (schema.enum) text = schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  const limits = [];
  for (const [key, word] of [["minimum", "≥"], ["maximum", "≤"], ["minLength", "length ≥"],
    ["maxLength", "length ≤"], ["minItems", "items ≥"], ["pattern", "matches"]]) {
    if (schema[key] !== undefined) limits.push(word + " " + schema[key]);
  }
  return limits.length ? text + " (" + limits.join(", ") + ")" : text;
}

function fieldsTable(schema) {
  const table = element("table");
  const head = table.insertRow();
  for (const title of ["field", "type", "required", "description"]) {
    head.appendChild(element("th", title));
  }
  const required = new Set(schema.required || []);
  for (const [name, field] of Object.entries(schema.properties || {})) {
    const row = table.insertRow();
    row.appendChild(element("td", name, "name"));
    row.appendChild(element("td", describe(field), "type"));
    row.appendChild(element("td", required.has(name) ? "yes" : ""));
    row.appendChild(element("td", field.description || ""));
  }
  return table;
}

function operation(path, method, spec) {
  const box = element("details");
  const summary = element("summary");
  summary.appendChild(element("span", method.toUpperCase(), "method " + method));
  summary.appendChild(document.createTextNode(path));
  summary.appendChild(element("span", spec.summary || "", "summary"));
  box.appendChild(summary);
  if (spec.description) box.appendChild(element("p", paragraphs(spec.description), "description"));
  const body = spec.requestBody && spec.requestBody.content["application/json"];
  if (body) box.appendChild(element("p", "Body: " + describe(body.schema)));
  box.appendChild(element("h3", "Answers"));
  const table = element("table");
  for (const [status, answer] of Object.entries(spec.responses || {})) {
    const row = table.insertRow();
    const content = answer.content && answer.content["application/json"];
    row.appendChild(element("td", status, "name"));
    row.appendChild(element("td", content ? describe(content.schema) : "", "type"));
    row.appendChild(element("td", answer.description || ""));
  }
  box.appendChild(table);
  return box;
}

function show(schema) {
  $("title").textContent = schema.info.title + " " + schema.info.version;
  $("status").textContent = schema.info.description || "";
  for (const [path, methods] of Object.entries(schema.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      $("operations").appendChild(operation(path, method, spec));
    }
  }
  const schemas = (schema.components && schema.components.schemas) || {};
  for (const [name, body] of Object.entries(schemas)) {
    const box = element("details");
    box.appendChild(element("summary", name));
    if (body.description) box.appendChild(element("p", body.description, "description"));
    box.appendChild(fieldsTable(body));
    $("schemas").appendChild(box);
  }
}

fetch("/docs/openapi.json", { headers: { Accept: "application/json" } })
  .then((response) => response.json())
  .then(show)
  .catch((error) => {
    $("status").textContent = "Could not read /docs/openapi.json: " + error.message;
    $("status").classList.add("error");
  });
