// Tooltips for the server-rendered SVG charts (Sources/Charts). Progressive enhancement only:
// the charts are complete without this file. Values arrive pre-formatted in data attributes,
// so nothing here formats numbers; text is set with textContent, never parsed as HTML, and
// styles go through the CSSOM, which a `style-src 'self'` policy allows.
(() => {
  "use strict";
  const SVG_NS = "http://www.w3.org/2000/svg";

  function readJSON(element, name) {
    try {
      const value = JSON.parse(element.getAttribute(name) || "null");
      return Array.isArray(value) ? value : null;
    } catch {
      return null;
    }
  }

  function makeTooltip() {
    const tip = document.createElement("div");
    tip.className = "chart-tooltip";
    tip.setAttribute("role", "presentation");
    Object.assign(tip.style, {
      position: "absolute",
      zIndex: "1000",
      pointerEvents: "none",
      display: "none",
      background: "rgba(255, 255, 255, 0.97)",
      color: "#1f2937",
      border: "1px solid #d1d5db",
      borderRadius: "6px",
      boxShadow: "0 4px 12px rgba(0, 0, 0, 0.12)",
      padding: "8px 10px",
      font: "12px/1.45 system-ui, sans-serif",
      whiteSpace: "nowrap",
    });
    document.body.appendChild(tip);
    return tip;
  }

  function fillTooltip(tip, series, point) {
    tip.replaceChildren();
    const head = document.createElement("div");
    head.textContent = point.d;
    head.style.fontWeight = "600";
    head.style.marginBottom = "4px";
    tip.appendChild(head);
    series.forEach(([name, color], index) => {
      const row = document.createElement("div");
      row.style.display = "flex";
      row.style.alignItems = "center";
      row.style.gap = "6px";
      const swatch = document.createElement("span");
      Object.assign(swatch.style, {
        display: "inline-block",
        width: "8px",
        height: "8px",
        borderRadius: "2px",
        background: color || "transparent",
        flex: "none",
      });
      const label = document.createElement("span");
      label.textContent = name;
      label.style.color = "#4b5563";
      const value = document.createElement("span");
      value.textContent = point.v[index] ?? "–";
      Object.assign(value.style, { marginLeft: "auto", paddingLeft: "16px", fontVariantNumeric: "tabular-nums", fontWeight: "500" });
      row.append(swatch, label, value);
      tip.appendChild(row);
    });
  }

  // Index of the point whose x is nearest `x`; points are in ascending x.
  function nearest(points, x) {
    let low = 0;
    let high = points.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (points[middle].x < x) low = middle + 1;
      else high = middle;
    }
    if (low > 0 && x - points[low - 1].x < points[low].x - x) return low - 1;
    return low;
  }

  function enhance(svg, tip) {
    const hover = svg.querySelector("g.hover");
    const plot = svg.querySelector("rect.plot-area");
    if (!hover || !plot) return;
    const series = readJSON(hover, "data-series");
    const points = readJSON(hover, "data-points");
    if (!series || !points || points.length === 0) return;

    const top = Number(plot.getAttribute("y"));
    const bottom = top + Number(plot.getAttribute("height"));
    const left = Number(plot.getAttribute("x"));
    const right = left + Number(plot.getAttribute("width"));
    const rule = document.createElementNS(SVG_NS, "line");
    rule.setAttribute("class", "hover-rule");
    rule.setAttribute("y1", String(top));
    rule.setAttribute("y2", String(bottom));
    rule.setAttribute("stroke", "#374151");
    rule.setAttribute("stroke-width", "1");
    rule.setAttribute("stroke-opacity", "0.45");
    rule.setAttribute("pointer-events", "none");
    rule.setAttribute("visibility", "hidden");
    hover.appendChild(rule);

    let shown = -1;
    const hide = () => {
      shown = -1;
      rule.setAttribute("visibility", "hidden");
      tip.style.display = "none";
    };

    svg.addEventListener("pointermove", (event) => {
      const matrix = svg.getScreenCTM();
      if (!matrix) return;
      const local = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      if (local.x < left - 8 || local.x > right + 8 || local.y < top - 8 || local.y > bottom + 8) {
        hide();
        return;
      }
      const index = nearest(points, local.x);
      const point = points[index];
      if (index !== shown) {
        shown = index;
        fillTooltip(tip, series, point);
        rule.setAttribute("x1", String(point.x));
        rule.setAttribute("x2", String(point.x));
        rule.setAttribute("visibility", "visible");
      }
      tip.style.display = "block";
      // Beside the pointer, flipped to the other side near the viewport's right or bottom edge.
      const width = tip.offsetWidth;
      const height = tip.offsetHeight;
      let x = event.clientX + 14;
      let y = event.clientY + 14;
      if (x + width > document.documentElement.clientWidth - 4) x = event.clientX - width - 14;
      if (y + height > document.documentElement.clientHeight - 4) y = event.clientY - height - 14;
      tip.style.left = `${Math.max(4, x) + window.scrollX}px`;
      tip.style.top = `${Math.max(4, y) + window.scrollY}px`;
    });
    svg.addEventListener("pointerleave", hide);
  }

  function start() {
    const charts = document.querySelectorAll("svg.chart");
    if (charts.length === 0) return;
    const tip = makeTooltip();
    charts.forEach((svg) => enhance(svg, tip));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
