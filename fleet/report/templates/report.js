// fleet HTML report: hover, sorting, the host filter, timelines, time heatmaps
// and the flame graph. Plain JavaScript, no libraries; the page fetches nothing.
"use strict";
(function () {
  const tip = document.getElementById("tip");
  const filterInput = document.getElementById("hostfilter");
  const hostNames = JSON.parse(document.getElementById("hostnames").textContent);
  const redraws = [];  // canvases drawn again when the host filter changes
  let hostMatch = () => true;

  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 260) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function dataOf(el) { return JSON.parse(el.querySelector("script.data").textContent); }
  function pct(n, total) { return total ? (100 * n / total).toFixed(1) + "%" : "-"; }
  function slotText(k, scale) {
    if (scale === "linear") return String(k);
    if (k === 0) return "0";
    const low = 2 ** (k - 1), high = 2 ** k - 1;
    return low === high ? String(low) : low + "-" + high;
  }
  function natural(a, b) {
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }
  // Light blue (few) to dark red (many): t in [0, 1].
  function ramp(t) {
    const v = Math.max(0, Math.min(1, t));
    return "hsl(" + (220 - 220 * v).toFixed(0) + ",75%," + (88 - 45 * v).toFixed(0) + "%)";
  }
  function logShare(v, max) { return max > 1 ? Math.log1p(v) / Math.log1p(max) : (v ? 1 : 0); }

  // -- hosts x slots heatmaps (SVG drawn by the template) ---------------------
  function initHeat(svg) {
    svg.addEventListener("mousemove", function (ev) {
      const r = ev.target;
      if (r.tagName !== "rect") { hideTip(); return; }
      const row = r.parentNode, n = +r.dataset.n;
      showTip(ev, row.dataset.host + "\n" + slotText(+r.dataset.s, svg.dataset.scale) +
        " " + svg.dataset.unit + "\n" + n + " samples (" + pct(n, +row.dataset.count) +
        " of the host's)");
    });
    svg.addEventListener("mouseleave", hideTip);
  }
  function relayoutHeat(svg) {
    const rh = +svg.dataset.rh;
    let y = +svg.dataset.head;
    svg.querySelectorAll("g.hrow").forEach(function (g) {
      if (g.classList.contains("hidden")) return;
      g.setAttribute("transform", "translate(0," + y + ")");
      y += rh;
    });
    svg.setAttribute("height", y + 4);
  }

  // -- sortable tables ----------------------------------------------------------
  function initSort(table) {
    const heads = table.tHead.rows[0].cells;
    Array.from(heads).forEach(function (th, i) {
      th.addEventListener("click", function () {
        const num = th.hasAttribute("data-num"), asc = !th.classList.contains("asc");
        Array.from(heads).forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        const key = function (row) {
          const text = row.cells[i] ? row.cells[i].textContent : "";
          if (!num) return text;
          const v = parseFloat(text);
          return isNaN(v) ? -Infinity : v;
        };
        const rows = Array.from(table.tBodies[0].rows);
        rows.sort(function (a, b) {
          const c = num ? key(a) - key(b) : natural(key(a), key(b));
          return asc ? c : -c;
        });
        table.tBodies[0].append.apply(table.tBodies[0], rows);
      });
    });
  }

  // -- the host filter ----------------------------------------------------------
  function matcher(text) {
    if (!text) return function () { return true; };
    try {
      const re = new RegExp(text, "i");
      return function (h) { return re.test(h); };
    } catch (e) {  // not a regex: plain text
      const t = text.toLowerCase();
      return function (h) { return h.toLowerCase().indexOf(t) >= 0; };
    }
  }
  function applyHostFilter() {
    hostMatch = matcher(filterInput.value.trim());
    document.querySelectorAll(".hf[data-host]").forEach(function (el) {
      el.classList.toggle("hidden", !hostMatch(el.dataset.host));
    });
    document.querySelectorAll("svg.heat").forEach(relayoutHeat);
    redraws.forEach(function (draw) { draw(); });
    const shown = hostNames.filter(hostMatch).length;
    document.getElementById("filtercount").textContent =
      shown === hostNames.length ? shown + " hosts" : shown + " of " + hostNames.length + " hosts";
  }

  // -- events: time cells, text filter, timeline ---------------------------------
  function clock(ns) {
    const d = new Date(Number(BigInt(ns) / 1000000n));  // exact: ns exceed 2**53
    const two = function (n) { return String(n).padStart(2, "0"); };
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()) +
      "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  function initEventFilter(section) {
    const input = section.querySelector("input.textfilter");
    if (!input) return;
    input.addEventListener("input", function () {
      const t = input.value.toLowerCase();
      section.querySelectorAll("table.events tbody tr").forEach(function (tr) {
        tr.classList.toggle("nomatch", t !== "" && tr.textContent.toLowerCase().indexOf(t) < 0);
      });
    });
  }
  function initTimeline(div) {
    const d = dataOf(div), canvas = div.querySelector("canvas"), ctx = canvas.getContext("2d");
    const LX = 130, byHost = new Map();
    let vmax = 0, rows = [], rh = 4;
    d.bins.forEach(function (b) {
      if (!byHost.has(b[0])) byHost.set(b[0], []);
      byHost.get(b[0]).push(b);
      vmax = Math.max(vmax, d.value ? (b[3] || 0) : b[2]);
    });
    const seconds = d.start_ns === null ? 0 : (d.end_ns - d.start_ns) / 1e9;
    const bw = (canvas.width - LX - 10) / (d.nbins || 1);
    function draw() {
      rows = d.hosts.map(function (h, i) { return i; }).filter(function (i) { return hostMatch(d.hosts[i]); });
      rh = Math.max(3, Math.min(14, Math.floor(600 / Math.max(rows.length, 1))));
      canvas.height = rows.length * rh + 22;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.font = "10px monospace";
      rows.forEach(function (i, r) {
        if (rh >= 9) { ctx.fillStyle = "#1d2330"; ctx.textAlign = "right"; ctx.fillText(d.hosts[i].slice(0, 18), LX - 6, r * rh + rh - 2); }
        (byHost.get(i) || []).forEach(function (b) {
          ctx.fillStyle = ramp(logShare(d.value ? (b[3] || 0) : b[2], vmax));
          ctx.fillRect(LX + b[1] * bw, r * rh, Math.max(bw - 0.5, 1), rh - 1);
        });
      });
      ctx.fillStyle = "#667085"; ctx.textAlign = "center";
      for (let k = 0; k <= 4; k++) {
        ctx.fillText("+" + (seconds * k / 4).toFixed(1) + "s", LX + (canvas.width - LX - 10) * k / 4, canvas.height - 6);
      }
    }
    canvas.addEventListener("mousemove", function (ev) {
      const box = canvas.getBoundingClientRect(), x = (ev.clientX - box.left) * canvas.width / box.width;
      const r = Math.floor((ev.clientY - box.top) * canvas.height / box.height / rh), b = Math.floor((x - LX) / bw);
      if (r < 0 || r >= rows.length || b < 0 || b >= d.nbins) { hideTip(); return; }
      const i = rows[r], mark = (byHost.get(i) || []).find(function (m) { return m[1] === b; });
      const t0 = (seconds * b / d.nbins).toFixed(2), t1 = (seconds * (b + 1) / d.nbins).toFixed(2);
      showTip(ev, d.hosts[i] + "\n+" + t0 + "-" + t1 + "s\n" + (mark ? mark[2] : 0) + " events" +
        (mark && d.value && mark[3] !== null ? "\nhighest " + d.value + " " + mark[3] : ""));
    });
    canvas.addEventListener("mouseleave", hideTip);
    draw();
    redraws.push(draw);
  }

  // -- latency over time: intervals x slots, fleet or one host -------------------
  function initTimeHeat(div) {
    const d = dataOf(div), canvas = div.querySelector("canvas"), ctx = canvas.getContext("2d");
    const select = div.querySelector("select"), LX = 110, BOTTOM = 20;
    let grid = { series: [], lo: 0, hi: 0, cw: 1, ch: 1 };
    function draw() {
      const series = select.value ? (d.hosts[select.value] || []) : d.fleet;
      let lo = Infinity, hi = -1, max = 0;
      series.forEach(function (slots) {
        slots.forEach(function (n, k) { if (n) { lo = Math.min(lo, k); hi = Math.max(hi, k); max = Math.max(max, n); } });
      });
      if (hi < 0) { lo = 0; hi = 0; }
      const ch = Math.max(8, Math.min(20, Math.floor(220 / (hi - lo + 1))));
      canvas.height = (hi - lo + 1) * ch + BOTTOM + 4;
      const cw = (canvas.width - LX - 10) / Math.max(series.length, 1);
      grid = { series: series, lo: lo, hi: hi, cw: cw, ch: ch };
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.font = "10px monospace";
      for (let k = lo; k <= hi; k++) {
        const y = (hi - k) * ch;
        ctx.fillStyle = "#667085"; ctx.textAlign = "right";
        ctx.fillText(slotText(k, d.scale), LX - 6, y + ch - 3);
        series.forEach(function (slots, i) {
          const n = slots[k] || 0;
          if (!n) return;
          ctx.fillStyle = ramp(logShare(n, max));
          ctx.fillRect(LX + i * cw, y, Math.max(cw - 0.5, 1), ch - 1);
        });
      }
      ctx.fillStyle = "#667085"; ctx.textAlign = "center";
      const step = Math.max(1, Math.ceil(series.length / 10));
      for (let i = 0; i < series.length; i += step) {
        ctx.fillText(i * d.interval_s + "s", LX + i * cw + cw / 2, canvas.height - 6);
      }
    }
    canvas.addEventListener("mousemove", function (ev) {
      const box = canvas.getBoundingClientRect();
      const x = (ev.clientX - box.left) * canvas.width / box.width, y = (ev.clientY - box.top) * canvas.height / box.height;
      const i = Math.floor((x - LX) / grid.cw), k = grid.hi - Math.floor(y / grid.ch);
      if (i < 0 || i >= grid.series.length || k < grid.lo || k > grid.hi) { hideTip(); return; }
      showTip(ev, (select.value || "fleet") + "\n" + (i * d.interval_s) + "-" + ((i + 1) * d.interval_s) +
        "s\n" + slotText(k, d.scale) + " " + (d.unit || "") + "\n" + (grid.series[i][k] || 0) + " samples");
    });
    canvas.addEventListener("mouseleave", hideTip);
    select.addEventListener("change", draw);
    draw();
  }

  // -- flame graph ---------------------------------------------------------------
  // One implementation, two colour modes: by frame name, or (when the report
  // has a baseline) by the change of each frame's share of all samples, the
  // rule of fleet/report/flamediff.py: red grew, blue shrank, deeper for more.
  function initFlame(div) {
    const d = dataOf(div), svg = div.querySelector("svg"), NS = "http://www.w3.org/2000/svg";
    const width = +svg.getAttribute("width"), FH = 17, search = div.querySelector("input.search");
    const colourBy = div.querySelector("select.colourby"), legend = div.querySelector(".flamelegend");
    let root = null, zoomed = null, nextId = 0, host = -1, maxChange = 0;
    function countOf(counts, host) {
      let n = 0;
      if (counts) for (let i = 0; i < counts.length; i += 2) if (host < 0 || counts[i] === host) n += counts[i + 1];
      return n;
    }
    function build() {
      nextId = 0;
      root = { name: "all", value: 0, base: 0, kids: new Map(), parent: null, id: nextId++ };
      d.stacks.forEach(function (stack) {
        const n = countOf(stack[1], host), nb = countOf(stack[2], host);
        if (!n && !nb) return;
        let node = root;
        root.value += n;
        root.base += nb;
        stack[0].split(";").forEach(function (frame) {
          let kid = node.kids.get(frame);
          if (!kid) { kid = { name: frame, value: 0, base: 0, kids: new Map(), parent: node, id: nextId++ }; node.kids.set(frame, kid); }
          kid.value += n;
          kid.base += nb;
          node = kid;
        });
      });
      maxChange = 0;
      (function walk(node) {
        if (node.value) maxChange = Math.max(maxChange, Math.abs(change(node)));
        node.kids.forEach(walk);
      })(root);
      zoomed = root;
    }
    function diffing() { return !!colourBy && colourBy.value === "diff"; }
    // Share of all samples in this run minus share in the baseline (0 without one).
    function change(node) {
      return root.value && root.base ? node.value / root.value - node.base / root.base : 0;
    }
    function direction(node) {
      const c = change(node);
      return c >= d.min_change ? "grew" : c <= -d.min_change ? "shrank" : "same";
    }
    function nameColour(name) {
      let h = 0;
      for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
      const kernel = name.endsWith("_[k]");
      return "hsl(" + ((kernel ? 30 : 0) + h % 30) + "," + (kernel ? 80 : 70) + "%," + (55 + h % 15) + "%)";
    }
    function changeColour(node) {
      const way = direction(node);
      if (way === "same") return "hsl(0,0%,93%)";
      const t = maxChange ? Math.abs(change(node)) / maxChange : 1;
      return "hsl(" + (way === "grew" ? 0 : 220) + ",85%," + (88 - 40 * t).toFixed(0) + "%)";
    }
    function colour(node) {
      if (diffing()) return changeColour(node);
      return node === root ? "#c9ced8" : nameColour(node.name);
    }
    function layout() {
      const frames = [];
      const chain = [];
      for (let n = zoomed.parent; n; n = n.parent) chain.unshift(n);
      chain.forEach(function (n, depth) { frames.push({ node: n, x: 0, w: width, depth: depth }); });
      (function lay(node, x, w, depth) {
        frames.push({ node: node, x: x, w: w, depth: depth });
        let cx = x;
        Array.from(node.kids.values()).sort(function (a, b) { return natural(a.name, b.name); }).forEach(function (kid) {
          const kw = node.value ? w * kid.value / node.value : 0;
          if (kw >= 0.3) lay(kid, cx, kw, depth + 1);
          cx += kw;
        });
      })(zoomed, 0, width, chain.length);
      return frames;
    }
    function render() {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const frames = layout();
      const depth = frames.reduce(function (m, f) { return Math.max(m, f.depth); }, 0);
      const height = (depth + 1) * FH + 2;
      svg.setAttribute("height", height);
      frames.forEach(function (f) {
        const g = document.createElementNS(NS, "g"), rect = document.createElementNS(NS, "rect");
        const y = height - (f.depth + 1) * FH;
        rect.setAttribute("x", f.x.toFixed(2)); rect.setAttribute("y", y);
        rect.setAttribute("width", f.w.toFixed(2)); rect.setAttribute("height", FH - 1);
        rect.setAttribute("fill", colour(f.node));
        rect.dataset.id = f.node.id;
        rect.frame = f.node;
        g.appendChild(rect);
        if (f.w > 30) {
          const text = document.createElementNS(NS, "text"), fit = Math.floor((f.w - 6) / 6.2);
          text.setAttribute("x", (f.x + 3).toFixed(2)); text.setAttribute("y", y + FH - 5);
          text.textContent = f.node.name.length > fit ? f.node.name.slice(0, Math.max(fit - 1, 1)) + "…" : f.node.name;
          g.appendChild(text);
        }
        svg.appendChild(g);
      });
      if (legend) {
        legend.classList.toggle("hidden", !diffing());
        legend.querySelector(".hostnote").textContent = root.value && !root.base ?
          "No baseline samples for " + (host < 0 ? "these hosts" : d.hosts[host]) +
          ": the frames stay uncoloured." : "";
      }
      highlight();
    }
    function highlight() {
      const text = search.value.trim(), out = div.querySelector(".matched");
      let re = null;
      try { re = text ? new RegExp(text) : null; } catch (e) { re = null; }
      let matched = 0;
      svg.querySelectorAll("rect").forEach(function (rect) {
        const hit = !!re && rect.frame !== root && re.test(rect.frame.name);
        rect.classList.toggle("match", hit);
      });
      if (re) {
        (function walk(node, under) {
          const hit = node !== root && re.test(node.name);
          if (hit && !under) matched += node.value;
          node.kids.forEach(function (kid) { walk(kid, under || hit); });
        })(root, false);
        out.textContent = "matched " + pct(matched, root.value) + " of samples";
      } else {
        out.textContent = text ? "not a valid regex" : "";
      }
    }
    function points(node) {
      const c = 100 * change(node);
      return (c >= 0 ? "+" : "") + c.toFixed(1) + " points";
    }
    svg.addEventListener("click", function (ev) {
      if (ev.target.tagName !== "rect") return;
      zoomed = ev.target.frame;
      render();
    });
    svg.addEventListener("mousemove", function (ev) {
      const f = ev.target.frame;
      if (!f) { hideTip(); return; }
      showTip(ev, f.name + "\n" + f.value + " samples, " + pct(f.value, root.value) + " of all" +
        (zoomed !== root ? ", " + pct(f.value, zoomed.value) + " of zoom" : "") +
        (diffing() && root.base ? "\nbaseline " + pct(f.base, root.base) + " -> " +
          pct(f.value, root.value) + " (" + points(f) + ")" : ""));
    });
    svg.addEventListener("mouseleave", hideTip);
    div.querySelector("button.reset").addEventListener("click", function () { zoomed = root; render(); });
    search.addEventListener("input", highlight);
    div.querySelector("select.hostsel").addEventListener("change", function (ev) {
      host = ev.target.value ? d.hosts.indexOf(ev.target.value) : -1;
      build();
      render();
    });
    if (colourBy) colourBy.addEventListener("change", render);
    build();
    render();
  }

  document.querySelectorAll("svg.heat").forEach(initHeat);
  document.querySelectorAll("table.sortable").forEach(initSort);
  document.querySelectorAll("td.t[data-ns]").forEach(function (td) { td.textContent = clock(td.dataset.ns); });
  document.querySelectorAll("section.job").forEach(initEventFilter);
  document.querySelectorAll("div.timeline").forEach(initTimeline);
  document.querySelectorAll("div.timeheat").forEach(initTimeHeat);
  document.querySelectorAll("div.flame").forEach(initFlame);
  filterInput.addEventListener("input", applyHostFilter);
})();
