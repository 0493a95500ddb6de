// Renders the OpenAPI document embedded in /docs (id="spec") as an API reference.
// Self-contained: no framework, no network beyond this file and docs.css.
(function () {
  "use strict";
  const spec = JSON.parse(document.getElementById("spec").textContent);
  const schemas = (spec.components || {}).schemas || {};
  const root = document.getElementById("reference");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function refName(ref) { return ref.split("/").pop(); }

  function resolve(schema) {
    return schema && schema.$ref ? schemas[refName(schema.$ref)] || {} : schema || {};
  }

  function typeOf(schema) {
    if (!schema) return "any";
    if (schema.$ref) return refName(schema.$ref);
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
    if (schema.type === "array") return typeOf(schema.items) + "[]";
    return schema.type || "object";
  }

  function limits(schema) {
    const out = [];
    for (const key of ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
      "minLength", "maxLength", "minItems", "maxItems", "pattern", "default"]) {
      if (schema[key] !== undefined) out.push(key + ": " + JSON.stringify(schema[key]));
    }
    return out.join(", ");
  }

  function fields(schema, depth, seen) {
    const s = resolve(schema);
    const props = s.properties || {};
    const required = new Set(s.required || []);
    const rows = Object.entries(props).map(([name, prop]) => {
      const inner = resolve(prop.$ref ? prop : (prop.items && prop.items.$ref ? prop.items : null));
      const nested = depth < 3 && inner.properties && !seen.has(inner.title)
        ? fields(inner, depth + 1, new Set([...seen, inner.title])) : null;
      return el("li", {},
        el("code", {class: "field"}, name),
        required.has(name) ? el("span", {class: "req"}, " required") : null,
        " ", el("span", {class: "type"}, typeOf(prop)),
        limits(prop) ? el("span", {class: "limits"}, " (" + limits(prop) + ")") : null,
        prop.description ? el("div", {class: "desc"}, prop.description) : null,
        nested);
    });
    const rules = s["x-cross-field-rules"];
    return el("ul", {class: "fields"}, rows,
      rules ? el("li", {class: "rules"}, "Rules: " + rules.join("; ")) : null);
  }

  function operation(path, method, op) {
    const id = "op-" + op.operationId;
    const params = (op.parameters || []).map((p) =>
      el("li", {}, el("code", {class: "field"}, p.name), " in " + p.in,
        p.required ? el("span", {class: "req"}, " required") : null,
        " ", el("span", {class: "type"}, typeOf(p.schema)),
        p.schema && p.schema.description ? el("div", {class: "desc"}, p.schema.description) : null));
    const body = op.requestBody && op.requestBody.content["application/json"];
    const responses = Object.entries(op.responses || {}).map(([code, r]) => {
      const content = r.content || {};
      const type = Object.keys(content)[0];
      const schema = type ? content[type].schema : null;
      return el("li", {}, el("code", {class: "status s" + code[0]}, code), " ",
        r.description || "", type ? el("span", {class: "type"}, " " + type +
          (schema ? " " + typeOf(schema) : "")) : null);
    });
    return el("section", {class: "operation", id: id, "data-path": path, "data-method": method},
      el("h3", {}, el("span", {class: "method " + method}, method.toUpperCase()), " ",
        el("code", {class: "path"}, path),
        op.security ? el("span", {class: "lock", title: "Authorization: Bearer <key>"}, " key") : null),
      el("p", {class: "summary"}, op.summary || ""),
      op.description ? el("p", {class: "desc"}, op.description) : null,
      params.length ? el("div", {}, el("h4", {}, "Parameters"), el("ul", {class: "fields"}, params)) : null,
      body ? el("div", {}, el("h4", {}, "Request body ", el("span", {class: "type"}, typeOf(body.schema))),
        fields(body.schema, 0, new Set())) : null,
      el("h4", {}, "Responses"), el("ul", {class: "responses"}, responses));
  }

  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags || ["other"])[0];
      (byTag[tag] = byTag[tag] || []).push(operation(path, method, op));
    }
  }
  const nav = el("nav", {}, Object.keys(byTag).map((tag) =>
    el("a", {href: "#tag-" + tag}, tag + " (" + byTag[tag].length + ")")));
  const search = el("input", {type: "search", id: "filter", placeholder: "filter: path, method or words"});
  search.addEventListener("input", () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const section of root.querySelectorAll(".operation")) {
      const text = section.textContent.toLowerCase();
      section.hidden = !words.every((w) => text.includes(w));
    }
  });
  root.replaceChildren(
    el("header", {}, el("h1", {}, spec.info.title + " " + spec.info.version),
      el("p", {class: "desc"}, spec.info.description || ""),
      el("p", {}, "The machine-readable contract: ", el("a", {href: "openapi.yaml"}, "openapi.yaml"),
        ". Routes marked key need Authorization: Bearer <key>."), search, nav),
    ...Object.entries(byTag).map(([tag, sections]) =>
      el("div", {class: "tag", id: "tag-" + tag}, el("h2", {}, tag), sections)));
  document.body.setAttribute("data-operations", String(root.querySelectorAll(".operation").length));
})();
