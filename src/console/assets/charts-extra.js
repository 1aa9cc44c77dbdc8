// Charts chart.js does not draw: a line chart whose series may have gaps
// (a week with no figure is not a zero). Plain SVG like chart.js: colours
// come from classes, sizes are a viewBox so CSS may scale the chart.

import { svg } from './chart.js';

const round = (n) => Math.round(n * 10) / 10;

/**
 * A line chart of `points` ([{label, value}], evenly spaced in order); a
 * `value` of null is a gap: the line stops and starts again after it. Each
 * value has a dot with a tooltip, so a lone value between gaps still shows.
 * Options: width, height, className, label (for screen readers), yMax,
 * formatValue (tooltips and the scale's labels).
 */
export function gapLineChart(points, options = {}) {
  const {
    width = 320, height = 140, className = 'chart gap-line-chart', label = '', formatValue = String,
  } = options;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, class: className, role: 'img', 'aria-label': label,
  });
  if (label) chart.append(svg('title', {}, label));
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) return chart;
  const left = 44;
  const right = width - 6;
  const top = 8;
  const bottom = height - 18;
  const yMax = options.yMax ?? Math.max(...values);
  const scaleX = (i) => (points.length === 1 ? (left + right) / 2 : left + (i / (points.length - 1)) * (right - left));
  const scaleY = (v) => (yMax > 0 ? bottom - (Math.min(v, yMax) / yMax) * (bottom - top) : bottom);

  chart.append(
    svg('line', { class: 'chart-axis', x1: left, y1: bottom, x2: right, y2: bottom }),
    svg('line', { class: 'chart-axis chart-grid', x1: left, y1: top, x2: right, y2: top }),
    svg('text', { class: 'chart-label', x: left - 4, y: top + 4, 'text-anchor': 'end' }, formatValue(yMax)),
    svg('text', { class: 'chart-label', x: left - 4, y: bottom, 'text-anchor': 'end' }, formatValue(0)),
    svg('text', { class: 'chart-label', x: left, y: height - 3 }, points[0].label),
    svg('text', { class: 'chart-label', x: right, y: height - 3, 'text-anchor': 'end' }, points[points.length - 1].label),
  );

  // One polyline per run of values between gaps.
  let run = [];
  const flush = () => {
    if (run.length > 1) chart.append(svg('polyline', { class: 'chart-line', points: run.join(' '), fill: 'none' }));
    run = [];
  };
  points.forEach((point, i) => {
    if (point.value === null || point.value === undefined) { flush(); return; }
    run.push(`${round(scaleX(i))},${round(scaleY(point.value))}`);
  });
  flush();
  points.forEach((point, i) => {
    if (point.value === null || point.value === undefined) return;
    chart.append(svg('circle', { class: 'chart-point', cx: round(scaleX(i)), cy: round(scaleY(point.value)), r: 3 },
      svg('title', {}, `${point.label}: ${formatValue(point.value)}`)));
  });
  return chart;
}
