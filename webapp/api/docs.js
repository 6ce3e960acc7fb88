// Renders /api/openapi.json: operations grouped by tag, with parameters, body and responses.
(function () {
  "use strict";
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function resolve(spec, schema, depth) {
    depth = depth || 0;
    if (!schema || depth > 6) return schema;
    if (schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return resolve(spec, spec.components.schemas[name], depth + 1);
    }
    var out = {};
    Object.keys(schema).forEach(function (k) {
      var v = schema[k];
      if (k === "properties") {
        out.properties = {};
        Object.keys(v).forEach(function (p) { out.properties[p] = resolve(spec, v[p], depth + 1); });
      } else if (k === "items" || k === "additionalProperties") {
        out[k] = typeof v === "object" ? resolve(spec, v, depth + 1) : v;
      } else if (k === "anyOf" || k === "oneOf" || k === "allOf") {
        out[k] = v.map(function (s) { return resolve(spec, s, depth + 1); });
      } else { out[k] = v; }
    });
    return out;
  }
  function schemaBlock(spec, schema) {
    return el("pre", {}, [JSON.stringify(resolve(spec, schema), null, 2)]);
  }
  function render(spec) {
    document.getElementById("intro").textContent = spec.info.description;
    var groups = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags || ["other"])[0];
        (groups[tag] = groups[tag] || []).push({ path: path, method: method.toUpperCase(), op: op });
      });
    });
    var nav = document.getElementById("tags"), ops = document.getElementById("ops");
    Object.keys(groups).forEach(function (tag) {
      nav.appendChild(el("a", { href: "#tag-" + tag }, [tag]));
      ops.appendChild(el("h2", { id: "tag-" + tag }, [tag]));
      groups[tag].forEach(function (item) {
        var op = item.op;
        var role = (op.description || "").match(/Requires the \*\*(\w+)\*\*/);
        var summary = el("summary", {}, [
          el("span", { "class": "method " + item.method }, [item.method]),
          el("span", { "class": "path" }, [item.path]),
          el("span", {}, [op.summary || ""]),
          el("span", { "class": "role" }, [role ? role[1] : (op.security && op.security.length === 0 ? "no sign-in" : "")])
        ]);
        var body = el("div", { "class": "body" }, []);
        if (op.description) body.appendChild(el("p", { "class": "desc" }, [op.description]));
        if (op.parameters && op.parameters.length) {
          var table = el("table", {}, [el("tr", {}, [el("th", {}, ["Parameter"]), el("th", {}, ["In"]),
            el("th", {}, ["Schema"]), el("th", {}, ["Description"])])]);
          op.parameters.forEach(function (p) {
            table.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [p.name + (p.required ? " *" : "")])]),
              el("td", {}, [p.in]), el("td", {}, [el("code", {}, [JSON.stringify(resolve(spec, p.schema))])]),
              el("td", {}, [p.description || ""])]));
          });
          body.appendChild(table);
        }
        if (op.requestBody) {
          body.appendChild(el("h4", {}, ["Request body"]));
          var content = op.requestBody.content;
          var type = Object.keys(content)[0];
          body.appendChild(schemaBlock(spec, content[type].schema));
        }
        body.appendChild(el("h4", {}, ["Responses"]));
        var rt = el("table", {}, []);
        Object.keys(op.responses).forEach(function (code) {
          rt.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [code])]),
            el("td", {}, [op.responses[code].description || ""])]));
        });
        body.appendChild(rt);
        ops.appendChild(el("details", { "class": "op", id: op.operationId }, [summary, body]));
      });
    });
  }
  fetch("/api/openapi.json", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(render)
    .catch(function (e) { document.getElementById("intro").textContent = "Could not load the API description: " + e; });
})();
