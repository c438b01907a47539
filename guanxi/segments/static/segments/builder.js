/* The segment rule builder: AND/OR groups of conditions, field and operator pickers, and a value input that fits
   the field. The rules live as JSON in #rules-input (what the form saves and the live preview counts); every
   change fires "rules-changed" on <body>, which htmx turns into a preview request. Errors the preview reports
   come back keyed by their path in the rule ("all[1].any[0].op") and are shown next to that condition. */
(function () {
  "use strict";

  var root = document.getElementById("rule-builder");
  var input = document.getElementById("rules-input");
  if (!root || !input) return;
  var data = JSON.parse(document.getElementById("builder-data").textContent);
  var S = data.strings;
  var FIELDS = {};
  data.fields.forEach(function (f) { FIELDS[f.key] = f; });
  var rules = data.rules && (data.rules.all || data.rules.any) ? data.rules : {all: []};
  var MAX_DEPTH = 5;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function kindOf(group) { return group.any ? "any" : "all"; }
  function itemsOf(group) { return group[kindOf(group)]; }
  function isGroup(item) { return item && (item.all || item.any); }

  function defaultValue(field, op) {
    if (op === "is_set" || op === "is_not_set") return undefined;
    if (op === "within_last_days") return 30;
    if (op === "in" || op === "not_in") return field.choices ? [field.choices[0].value] : [];
    if (op === "between") return field.kind === "date" || field.kind === "datetime" ? ["", ""] : [0, 0];
    if (field.kind === "bool") return true;
    if (field.choices) return field.choices[0].value;
    if (field.kind === "int" || field.kind === "decimal" || field.kind === "float") return field.min !== null ? field.min : 0;
    return "";
  }

  function newCondition(key) {
    var field = FIELDS[key] || data.fields[0];
    var op = field.ops[0].op;
    return {field: field.key, op: op, value: defaultValue(field, op)};
  }

  function changed() {
    input.value = JSON.stringify(rules);
    document.body.dispatchEvent(new CustomEvent("rules-changed", {bubbles: true}));
  }

  function numberOrText(field, text) {
    if (field.kind === "int" || field.kind === "decimal" || field.kind === "float") {
      var trimmed = String(text).trim();
      if (trimmed !== "" && !isNaN(Number(trimmed))) return Number(trimmed);
    }
    return text;
  }

  function suggestions(field) {
    var list = field.suggest && data.suggest[field.suggest];
    if (!list || !list.length) return null;
    var id = "suggest-" + field.suggest;
    if (!document.getElementById(id)) {
      var datalist = el("datalist", {id: id});
      list.forEach(function (value) { datalist.appendChild(el("option", {value: value})); });
      document.body.appendChild(datalist);
    }
    return id;
  }

  function scalarInput(field, value, onInput, label) {
    var node;
    if (field.choices) {
      node = el("select", {"aria-label": label || S.value});
      field.choices.forEach(function (c) {
        var option = el("option", {value: c.value, text: c.label || "—"});
        if (c.value === value) option.selected = true;
        node.appendChild(option);
      });
      node.addEventListener("change", function () { onInput(node.value); });
      return node;
    }
    if (field.kind === "bool") {
      node = el("select", {"aria-label": label || S.value});
      [[true, S.yes], [false, S.no]].forEach(function (pair) {
        var option = el("option", {value: String(pair[0]), text: pair[1]});
        if (value === pair[0]) option.selected = true;
        node.appendChild(option);
      });
      node.addEventListener("change", function () { onInput(node.value === "true"); });
      return node;
    }
    var type = field.kind === "date" || field.kind === "datetime" ? "date"
      : (field.kind === "int" || field.kind === "decimal" || field.kind === "float") ? "number" : "text";
    node = el("input", {type: type, "aria-label": label || S.value, className: "rb-input rb-input-" + type});
    if (type === "number") node.setAttribute("step", field.kind === "int" ? "1" : "any");
    var list = suggestions(field);
    if (list) node.setAttribute("list", list);
    node.value = value === undefined || value === null ? "" : value;
    node.addEventListener("input", function () { onInput(numberOrText(field, node.value)); });
    return node;
  }

  function valueEditor(cond, field) {
    var box = el("span", {className: "rb-value"});
    var op = cond.op;
    function set(value) { cond.value = value; changed(); }
    if (op === "is_set" || op === "is_not_set") return box;
    if (op === "within_last_days") {
      var days = el("input", {type: "number", min: "1", step: "1", className: "rb-input rb-input-number",
                              "aria-label": S.days});
      days.value = cond.value;
      days.addEventListener("input", function () { set(numberOrText({kind: "int"}, days.value)); });
      box.appendChild(days);
      box.appendChild(el("span", {className: "muted", text: S.days}));
      return box;
    }
    if (op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value.slice() : ["", ""];
      cond.value = pair;
      box.appendChild(scalarInput(field, pair[0], function (v) { pair[0] = v; set(pair); }));
      box.appendChild(el("span", {className: "muted", text: S.and}));
      box.appendChild(scalarInput(field, pair[1], function (v) { pair[1] = v; set(pair); }));
      return box;
    }
    if (op === "in" || op === "not_in") {
      var chosen = Array.isArray(cond.value) ? cond.value.slice() : [];
      if (field.choices) {
        var checks = el("span", {className: "rb-checks"});
        field.choices.forEach(function (c) {
          var box2 = el("input", {type: "checkbox", value: c.value});
          box2.checked = chosen.indexOf(c.value) >= 0;
          box2.addEventListener("change", function () {
            chosen = field.choices.map(function (x) { return x.value; }).filter(function (v) {
              var node = checks.querySelector('input[value="' + CSS.escape(v) + '"]');
              return node && node.checked;
            });
            set(chosen);
          });
          checks.appendChild(el("label", {className: "rb-check"}, [box2, el("span", {text: c.label || "—"})]));
        });
        box.appendChild(checks);
        return box;
      }
      var text = el("input", {type: "text", className: "rb-input rb-input-list", placeholder: S.commaHint,
                              title: S.commaHint, "aria-label": S.value});
      var list = suggestions(field);
      if (list) text.setAttribute("list", list);
      text.value = chosen.join(", ");
      text.addEventListener("input", function () {
        set(text.value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean)
          .map(function (s) { return numberOrText(field, s); }));
      });
      box.appendChild(text);
      return box;
    }
    box.appendChild(scalarInput(field, cond.value, set));
    return box;
  }

  function fieldPicker(cond) {
    var select = el("select", {className: "rb-field", "aria-label": S.field});
    Object.keys(data.families).forEach(function (family) {
      var fields = data.fields.filter(function (f) { return f.family === family; });
      if (!fields.length) return;
      var group = el("optgroup", {label: data.families[family]});
      fields.forEach(function (f) {
        var option = el("option", {value: f.key, text: f.label});
        if (f.key === cond.field) option.selected = true;
        group.appendChild(option);
      });
      select.appendChild(group);
    });
    if (!FIELDS[cond.field]) {  // a field this workspace no longer has (e.g. a deleted custom field)
      var gone = el("option", {value: cond.field, text: cond.field});
      gone.selected = true;
      select.insertBefore(gone, select.firstChild);
    }
    return select;
  }

  function renderCondition(cond, path, parentItems, index) {
    var field = FIELDS[cond.field];
    var row = el("div", {className: "rb-cond", "data-path": path});
    var picker = fieldPicker(cond);
    picker.addEventListener("change", function () {
      parentItems[index] = newCondition(picker.value);
      render();
      changed();
    });
    row.appendChild(picker);
    if (field) {
      var ops = el("select", {className: "rb-op", "aria-label": S.operator});
      field.ops.forEach(function (o) {
        var option = el("option", {value: o.op, text: o.label});
        if (o.op === cond.op) option.selected = true;
        ops.appendChild(option);
      });
      ops.addEventListener("change", function () {
        var before = cond.op;
        cond.op = ops.value;
        var listy = function (op) { return op === "in" || op === "not_in"; };
        if (cond.op === "is_set" || cond.op === "is_not_set") delete cond.value;
        else if (!(listy(before) && listy(cond.op)) && !(["=", "!=", ">", ">=", "<", "<=", "before", "after"]
          .indexOf(before) >= 0 && ["=", "!=", ">", ">=", "<", "<=", "before", "after"].indexOf(cond.op) >= 0)) {
          cond.value = defaultValue(field, cond.op);
        }
        render();
        changed();
      });
      row.appendChild(ops);
      row.appendChild(valueEditor(cond, field));
      if (field.extra && field.extra.indexOf("days") >= 0) {
        var days = el("input", {type: "number", min: "1", step: "1", className: "rb-input rb-input-number",
                                placeholder: S.withinDays, title: S.withinDays, "aria-label": S.withinDays});
        days.value = cond.days || "";
        days.addEventListener("input", function () {
          if (days.value === "") delete cond.days; else cond.days = numberOrText({kind: "int"}, days.value);
          changed();
        });
        row.appendChild(el("span", {className: "rb-days"}, [days, el("span", {className: "muted", text: S.days})]));
      }
    }
    var remove = el("button", {type: "button", className: "btn btn-ghost btn-xs rb-remove", title: S.remove,
                               "aria-label": S.remove, text: "×"});
    remove.addEventListener("click", function () { parentItems.splice(index, 1); render(); changed(); });
    row.appendChild(remove);
    row.appendChild(el("div", {className: "rb-error", role: "alert"}));
    return row;
  }

  function renderGroup(group, path, depth, parentItems, index) {
    var kind = kindOf(group);
    var items = itemsOf(group);
    var listPath = path ? path + "." + kind : kind;
    var box = el("div", {className: "rb-group rb-depth-" + depth + " rb-" + kind, "data-path": path || "__all__"});
    var join = el("select", {className: "rb-join", "aria-label": S.all + " / " + S.any});
    ["all", "any"].forEach(function (k) {
      var option = el("option", {value: k, text: S[k]});
      if (k === kind) option.selected = true;
      join.appendChild(option);
    });
    join.addEventListener("change", function () {
      var next = {};
      next[join.value] = items;
      if (parentItems) parentItems[index] = next; else rules = next;
      render();
      changed();
    });
    var head = el("div", {className: "rb-group-head"}, [join]);
    if (parentItems) {
      var drop = el("button", {type: "button", className: "btn btn-ghost btn-xs rb-remove", text: S.removeGroup});
      drop.addEventListener("click", function () { parentItems.splice(index, 1); render(); changed(); });
      head.appendChild(drop);
    }
    box.appendChild(head);
    var list = el("div", {className: "rb-items"});
    if (!items.length) list.appendChild(el("p", {className: "muted small rb-empty", text: kind === "all" ? S.empty : S.emptyAny}));
    items.forEach(function (item, i) {
      var itemPath = listPath + "[" + i + "]";
      list.appendChild(isGroup(item) ? renderGroup(item, itemPath, depth + 1, items, i)
        : renderCondition(item, itemPath, items, i));
    });
    box.appendChild(list);
    var addCond = el("button", {type: "button", className: "btn btn-sm rb-add-condition", text: "+ " + S.addCondition});
    addCond.addEventListener("click", function () {
      items.push(newCondition(items.length && !isGroup(items[items.length - 1]) ? items[items.length - 1].field : "total_paid"));
      render();
      changed();
    });
    var foot = el("div", {className: "rb-group-foot"}, [addCond]);
    if (depth < MAX_DEPTH) {
      var addGroup = el("button", {type: "button", className: "btn btn-sm btn-ghost rb-add-group", text: "+ " + S.addGroup});
      addGroup.addEventListener("click", function () {
        var inner = {};
        inner[kind === "all" ? "any" : "all"] = [newCondition("tags"), newCondition("province")];
        items.push(inner);
        render();
        changed();
      });
      foot.appendChild(addGroup);
    }
    box.appendChild(foot);
    return box;
  }

  function render() {
    root.innerHTML = "";
    root.appendChild(renderGroup(rules, "", 0, null, 0));
  }

  function showErrors(errors) {
    root.querySelectorAll(".rb-has-error").forEach(function (node) { node.classList.remove("rb-has-error"); });
    root.querySelectorAll(".rb-error").forEach(function (node) { node.textContent = ""; });
    Object.keys(errors || {}).forEach(function (path) {
      // "all[1].any[0].op" belongs to the condition "all[1].any[0]"; "all[1].any" to the group "all[1]".
      var target = path.replace(/\.(field|op|value|days)$/, "").replace(/\.(all|any)$/, "");
      var node = root.querySelector('[data-path="' + CSS.escape(target) + '"]');
      if (!node) return;
      node.classList.add("rb-has-error");
      var slot = node.querySelector(":scope > .rb-error");
      if (slot) slot.textContent = errors[path].join(" ");
    });
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "preview") return;
    var script = document.getElementById("rule-errors");
    showErrors(script ? JSON.parse(script.textContent) : {});
  });

  render();
  input.value = JSON.stringify(rules);
  var initial = document.getElementById("builder-errors");
  if (initial) showErrors(JSON.parse(initial.textContent));
})();
