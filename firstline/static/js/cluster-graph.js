// Transmission cluster graph (Cytoscape.js). Loaded as a file: the CSP forbids inline scripts and style attributes
// in markup (styles set through the DOM, as below and inside Cytoscape, are allowed).
//
// The page gives the JSON address in #cluster-graph[data-graph-url]; the page's own query string (date_from,
// date_to, division) narrows it. Answers are Cytoscape elements in one of three modes:
//   plain       one node per person;
//   aggregated  one node per household / venue / area (too many persons), clicking one loads its persons;
//   group       the persons of one aggregate node (drill-down), with their edges; an endpoint outside the group
//               carries the id of its group (source_group / target_group) and is drawn to whatever shows it.
(function () {
  "use strict";

  var COLOURS = {
    confirmed: "#b3261e",
    asymptomatic: "#e8710a",
    suspected: "#f2c230",
    close: "#1a73e8",
    secondary: "#8ab4f8",
    other: "#9aa0a6",
    group: "#5f6368",
    anonymous: "#dadce0"
  };
  var FILTERS = ["date_from", "date_to", "division"];

  function colourKey(data) {
    if (data.aggregate) { return "group"; }
    if (data.anonymous && !data.classification) { return "anonymous"; }
    if (data.role === "case" && COLOURS[data.classification]) { return data.classification; }
    return COLOURS[data.role] ? data.role : "other";
  }

  function graphUrl(base, extra) {
    var url = new URL(base, window.location.href);
    var page = new URLSearchParams(window.location.search);
    FILTERS.forEach(function (name) {
      var value = page.get(name);
      if (value) { url.searchParams.set(name, value); }
    });
    Object.keys(extra || {}).forEach(function (name) { url.searchParams.set(name, extra[name]); });
    return url.toString();
  }

  function say(status, key, n) {
    if (!status) { return; }
    var text = status.getAttribute("data-text-" + key) || "";
    status.textContent = text.replace("%(n)s", n === undefined ? "" : String(n));
  }

  function paintLegend() {
    document.querySelectorAll("[data-legend]").forEach(function (el) {
      el.style.backgroundColor = COLOURS[el.getAttribute("data-legend")] || COLOURS.other;
    });
  }

  function style() {
    return [
      {
        selector: "node",
        style: {
          "background-color": function (ele) { return COLOURS[colourKey(ele.data())]; },
          "label": "data(label)",
          "font-size": 10,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "width": 18,
          "height": 18,
          "border-width": 1,
          "border-color": "#ffffff"
        }
      },
      { selector: "node[role = 'case']", style: { "width": 26, "height": 26, "shape": "diamond" } },
      { selector: "node[?anonymous]", style: { "color": "#80868b", "border-style": "dashed", "border-color": "#80868b" } },
      {
        selector: "node[?aggregate]",
        style: {
          "shape": "round-rectangle",
          "width": "mapData(count, 1, 500, 24, 90)",
          "height": "mapData(count, 1, 500, 24, 90)",
          "background-color": function (ele) { return ele.data("cases") > 0 ? COLOURS.confirmed : COLOURS.group; },
          "background-opacity": 0.75
        }
      },
      {
        selector: "edge",
        style: {
          "width": 1.5,
          "line-color": "#9aa0a6",
          "target-arrow-color": "#9aa0a6",
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          "label": "data(label)",
          "font-size": 8,
          "color": "#5f6368",
          "text-rotation": "autorotate"
        }
      },
      { selector: "edge[!verified][!aggregate]", style: { "line-style": "dashed" } },
      { selector: "edge[?aggregate]", style: { "width": "mapData(count, 1, 200, 1.5, 10)" } },
      { selector: ":selected", style: { "border-width": 3, "border-color": "#202124" } }
    ];
  }

  function layoutOptions(cy, name) {
    if (name === "breadthfirst") {
      // Rooted at the cases (and at the groups holding cases, in the aggregated view).
      var roots = cy.nodes("[role = 'case'], [cases > 0]");
      return {
        name: "breadthfirst",
        directed: true,
        roots: roots.nonempty() ? roots : undefined,
        spacingFactor: 1.1,
        animate: false,
        fit: true,
        padding: 20
      };
    }
    return { name: "cose", animate: false, fit: true, padding: 20, nodeRepulsion: function () { return 8000; } };
  }

  function init() {
    var container = document.getElementById("cluster-graph");
    if (!container || !window.cytoscape) { return; }
    var base = container.getAttribute("data-graph-url");
    var status = document.querySelector("[data-graph-status]");
    var layoutSelect = document.querySelector("[data-graph-layout]");
    paintLegend();
    // Most of the screen, on phones too (set through the DOM: the CSP forbids style attributes in markup).
    container.style.height = Math.max(360, Math.round(window.innerHeight * 0.65)) + "px";
    var cy = window.cytoscape({
      container: container,
      elements: [],
      style: style(),
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 4
    });

    // For the browser console and the end-to-end tests.
    window.firstlineClusterGraph = cy;

    function relayout() {
      cy.layout(layoutOptions(cy, layoutSelect ? layoutSelect.value : "breadthfirst")).run();
    }

    function endpoint(id, group) {
      if (cy.getElementById(id).nonempty()) { return id; }
      if (group && cy.getElementById(group).nonempty()) { return group; }
      return null;
    }

    function addEdges(edges) {
      edges.forEach(function (edge) {
        var data = edge.data;
        if (cy.getElementById(data.id).nonempty()) { return; }
        var source = endpoint(data.source, data.source_group);
        var target = endpoint(data.target, data.target_group);
        if (!source || !target || source === target) { return; }
        cy.add({ group: "edges", data: Object.assign({}, data, { source: source, target: target }) });
      });
    }

    function load(extra) {
      say(status, "loading");
      return fetch(graphUrl(base, extra), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        });
    }

    function show(payload) {
      cy.elements().remove();
      cy.add(payload.nodes.map(function (n) { return { group: "nodes", data: n.data }; }));
      addEdges(payload.edges);
      relayout();
      if (!payload.nodes.length) { say(status, "empty"); }
      else if (payload.mode === "aggregated") { say(status, "aggregated", payload.persons); }
      else { say(status, "plain", payload.persons); }
    }

    function drillDown(groupNode) {
      load({ group: groupNode.id() }).then(function (payload) {
        var near = groupNode.position();
        cy.batch(function () {
          groupNode.remove();
          payload.nodes.forEach(function (n) {
            if (cy.getElementById(n.data.id).empty()) {
              cy.add({ group: "nodes", data: n.data, position: { x: near.x, y: near.y } });
            }
          });
          addEdges(payload.edges);
        });
        relayout();
        say(status, payload.truncated ? "truncated" : "group", payload.persons);
      }).catch(function () { say(status, "error"); });
    }

    cy.on("tap", "node", function (event) {
      var node = event.target;
      if (node.data("aggregate")) { drillDown(node); return; }
      var url = node.data("url");
      if (url) { window.location.assign(url); }
    });
    if (layoutSelect) { layoutSelect.addEventListener("change", relayout); }
    load({}).then(show).catch(function () { say(status, "error"); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
