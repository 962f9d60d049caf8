// Draws every [data-chart] element with Chart.js (web/charts.py describes the spec). Loaded on every
// page; fetches the library (served by the console itself) only when a page has a chart. Colours come
// from the stylesheet's custom properties, so charts follow light and dark mode, live.
"use strict";

(() => {
  const LIBRARY = "/static/vendor/chart.umd.min.js";
  const drawn = [];

  function palette() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return {
      series: [0, 1, 2, 3, 4, 5].map((i) => v(`--bar${i}`)),
      fg: v("--fg"),
      muted: v("--muted"),
      line: v("--line"),
      card: v("--card"),
    };
  }

  function format(value, unit) {
    const text = Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return unit ? `${text} ${unit}` : text;
  }

  function config(spec, colours) {
    const many = spec.series.length > 1;
    const doughnut = spec.kind === "doughnut";
    const datasets = spec.series.map((s, i) => {
      const colour = colours.series[i % colours.series.length];
      const each = spec.labels.map((_, j) => colours.series[j % colours.series.length]);
      return {
        label: s.name,
        data: s.values,
        backgroundColor: doughnut || (!many && !spec.timeline && spec.kind === "bar") ? each : colour,
        borderColor: doughnut ? colours.card : colour,
        borderWidth: spec.kind === "line" ? 2 : 1,
        borderRadius: spec.kind === "bar" ? 3 : 0,
        tension: 0.25,
        spanGaps: Boolean(spec.timeline),
        pointRadius: spec.labels.length > 31 || (spec.timeline && spec.labels.length > 14) ? 0 : 3,
      };
    });
    const axis = {
      ticks: { color: colours.fg },
      grid: { color: colours.line },
      border: { color: colours.line },
      stacked: Boolean(spec.stacked),
    };
    // The value axis starts at zero; counts get whole-number ticks; all zeros still draw 0 to 1.
    const values = spec.series.flatMap((s) => s.values).filter((v) => typeof v === "number");
    const valueAxis = {
      ...axis,
      beginAtZero: true,
      suggestedMax: values.some((v) => v !== 0) ? undefined : 1,
      ticks: { ...axis.ticks, precision: values.every((v) => Number.isInteger(v)) ? 0 : undefined },
    };
    const horizontal = spec.kind === "bar" && !spec.timeline && spec.labels.length > 4;
    return {
      type: spec.kind,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : undefined,
        indexAxis: horizontal ? "y" : "x",
        color: colours.fg,
        scales: doughnut ? {} : horizontal ? { x: valueAxis, y: axis } : { x: axis, y: valueAxis },
        plugins: {
          legend: { display: many || doughnut, labels: { color: colours.fg } },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${format(item.raw, spec.unit)}`,
            },
          },
        },
      },
    };
  }

  function draw(figure) {
    let spec;
    try {
      spec = JSON.parse(figure.dataset.chart);
    } catch {
      return;
    }
    const box = figure.querySelector(".chart-canvas");
    const canvas = box && box.querySelector("canvas");
    if (!canvas || !spec.labels.length) {
      return;
    }
    box.hidden = false;
    // Horizontal bars get room per row; other kinds a fixed height (CSSOM, allowed by the CSP).
    const rows = spec.kind === "bar" && !spec.timeline && spec.labels.length > 4 ? spec.labels.length : 0;
    if (rows) {
      box.style.height = `${Math.max(12, rows * 2.2 + 3)}rem`;
    }
    const chart = new window.Chart(canvas, config(spec, palette()));
    drawn.push({ chart, spec });
    figure.dataset.drawn = "true";
  }

  function recolour() {
    const colours = palette();
    for (const { chart, spec } of drawn) {
      const fresh = config(spec, colours);
      chart.data.datasets = fresh.data.datasets;
      chart.options = fresh.options;
      chart.update();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const figures = document.querySelectorAll("[data-chart]");
    if (!figures.length) {
      return;
    }
    const script = document.createElement("script");
    script.src = LIBRARY;
    script.addEventListener("load", () => {
      figures.forEach(draw);
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", recolour);
    });
    document.head.appendChild(script);
  });
})();
