/*
 * The dashboard's charts, drawn by Chart.js (vendored as /static/chart.umd.min.js, loaded as a
 * classic script before the modules: it defines window.Chart). Each canvas keeps one chart;
 * a new report replaces its data. No animation: the numbers are there at once.
 */
import { formatValue, waitBucket } from "./supervisor-format.js";

var COLOURS = ["#1f5fbf", "#b35c00", "#2f7d45", "#7a3fb0", "#a4161a", "#566074"];

/** The chart on the canvas `id`, made or given new data. */
function draw(id, config) {
  var canvas = document.getElementById(id);
  var existing = window.Chart.getChart(canvas);
  if (existing) {
    existing.data = config.data;
    existing.options = config.options;
    existing.update("none");
    return existing;
  }
  return new window.Chart(canvas, config);
}

function axis(unit) {
  var ticks = { callback: function (value) { return formatValue(value, unit); } };
  if (unit === "ratio") { return { beginAtZero: true, suggestedMax: 1, ticks: ticks }; }
  return { beginAtZero: true, ticks: ticks };
}

function options(unit, extra) {
  var base = {
    animation: false,
    maintainAspectRatio: false,
    spanGaps: true,
    scales: { y: axis(unit) },
    plugins: {
      tooltip: {
        callbacks: {
          label: function (item) {
            return item.dataset.label + ": " + formatValue(item.raw, unit);
          }
        }
      }
    }
  };
  return Object.assign(base, extra || {});
}

function line(label, values, colour) {
  return {
    label: label, data: values, borderColor: colour, backgroundColor: colour,
    tension: 0, pointRadius: 3
  };
}

/** The trend charts of the report's buckets. */
export function drawTrends(trends) {
  var labels = trends.map(function (point) { return point.bucket; });
  function series(key) { return trends.map(function (point) { return point[key]; }); }
  draw("chart-rates", {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        line("Bot resolution", series("containment"), COLOURS[2]),
        line("Handoff rate", series("handoff_rate"), COLOURS[1])
      ]
    },
    options: options("ratio")
  });
  draw("chart-waits", {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        line("Wait p50", series("wait_p50_s"), COLOURS[0]),
        line("Wait p95", series("wait_p95_s"), COLOURS[4])
      ]
    },
    options: options("s")
  });
  draw("chart-handle", {
    type: "line",
    data: { labels: labels, datasets: [line("Handle p50", series("handle_p50_s"), COLOURS[3])] },
    options: options("s")
  });
  draw("chart-csat", {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        line("Bot only", series("csat_bot_only"), COLOURS[2]),
        line("Hybrid", series("csat_hybrid"), COLOURS[0]),
        line("Person only", series("csat_person_only"), COLOURS[1])
      ]
    },
    options: options("ratio")
  });
}

/** The histogram of claimed handoffs' waits. */
export function drawWaitDistribution(buckets) {
  draw("chart-wait-distribution", {
    type: "bar",
    data: {
      labels: buckets.map(waitBucket),
      datasets: [{
        label: "Handoffs",
        data: buckets.map(function (bucket) { return bucket.handoffs; }),
        backgroundColor: COLOURS[0]
      }]
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
}

/** Handoffs by reason code (horizontal bars, most frequent first). */
export function drawReasons(shares) {
  draw("chart-reasons", {
    type: "bar",
    data: {
      labels: shares.map(function (share) { return share.key; }),
      datasets: [{
        label: "Handoffs",
        data: shares.map(function (share) { return share.handoffs; }),
        backgroundColor: COLOURS[1]
      }]
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            afterLabel: function (item) {
              return "of engaged conversations: " + formatValue(shares[item.dataIndex].rate, "ratio");
            }
          }
        }
      },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
}
