// Tiny charts in plain SVG: a line chart (with a sparkline preset) and a bar
// chart. Colours come from the stylesheet (classes), so themes apply; sizes
// are a viewBox, so CSS may scale a chart to its container.

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with `attributes` and `children`. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

function frame(width, height, className, label, stretch) {
  // role=img + aria-label: a screen reader reads the label, not the shapes.
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, class: className, role: 'img', 'aria-label': label,
  });
  // Without text, a chart may stretch to its box; with text, it keeps its shape.
  if (stretch) chart.setAttribute('preserveAspectRatio', 'none');
  if (label) chart.append(svg('title', {}, label));
  return chart;
}

const round = (n) => Math.round(n * 10) / 10;

/**
 * A line chart of `points` ([{x, y}], x ascending, numbers).
 * Options: width, height, className, label (for screen readers), yMax (the top
 * of the scale; default: the largest y), axes (draw a baseline and the scale's
 * top and bottom values), formatY / formatX (for those labels).
 */
export function lineChart(points, options = {}) {
  const {
    width = 320, height = 120, className = 'chart line-chart', label = '',
    axes = false, formatY = String, formatX = String,
  } = options;
  const chart = frame(width, height, className, label, !axes);
  if (points.length === 0) return chart;
  const left = axes ? 40 : 1;
  const bottom = axes ? height - 16 : height - 1;
  const top = axes ? 6 : 2;
  const right = width - 1;
  const xMin = points[0].x;
  const xMax = points[points.length - 1].x;
  const yMax = options.yMax ?? Math.max(...points.map((p) => p.y), 0);
  const scaleX = (x) => (xMax === xMin ? right : left + ((x - xMin) / (xMax - xMin)) * (right - left));
  const scaleY = (y) => (yMax <= 0 ? bottom : bottom - (y / yMax) * (bottom - top));
  const coordinates = points.map((p) => `${round(scaleX(p.x))},${round(scaleY(p.y))}`);
  if (points.length === 1) coordinates.unshift(`${left},${round(scaleY(points[0].y))}`);
  const firstX = points.length === 1 ? left : round(scaleX(xMin));
  chart.append(
    svg('path', { class: 'chart-area', d: `M${firstX},${bottom} L${coordinates.join(' L')} L${round(scaleX(xMax))},${bottom} Z` }),
    svg('polyline', { class: 'chart-line', points: coordinates.join(' '), fill: 'none' }),
  );
  if (axes) {
    chart.append(
      svg('line', { class: 'chart-axis', x1: left, y1: bottom, x2: right, y2: bottom }),
      svg('text', { class: 'chart-label', x: left - 4, y: top + 8, 'text-anchor': 'end' }, formatY(yMax)),
      svg('text', { class: 'chart-label', x: left - 4, y: bottom, 'text-anchor': 'end' }, formatY(0)),
      svg('text', { class: 'chart-label', x: left, y: height - 2 }, formatX(xMin)),
      svg('text', { class: 'chart-label', x: right, y: height - 2, 'text-anchor': 'end' }, formatX(xMax)),
    );
  }
  return chart;
}

/** A small line chart without axes, for a table cell. */
export function sparkline(points, options = {}) {
  return lineChart(points, { width: 120, height: 28, className: 'chart sparkline', ...options, axes: false });
}

/**
 * A bar chart of `bars` ([{label, value}]), in order. Each bar has a tooltip
 * (its <title>); with `labels`, each bar's label is written under it.
 * Options: width, height, className, label, yMax, labels, formatValue.
 */
export function barChart(bars, options = {}) {
  const {
    width = 320, height = 120, className = 'chart bar-chart', label = '',
    labels = false, formatValue = String,
  } = options;
  const chart = frame(width, height, className, label, !labels);
  if (bars.length === 0) return chart;
  const bottom = labels ? height - 16 : height;
  const yMax = options.yMax ?? Math.max(...bars.map((b) => b.value), 0);
  const slot = width / bars.length;
  const gap = Math.min(4, slot * 0.2);
  bars.forEach((bar, index) => {
    const barHeight = yMax > 0 ? (bar.value / yMax) * (bottom - 2) : 0;
    const x = index * slot + gap / 2;
    chart.append(svg('rect', {
      class: 'chart-bar', x: round(x), y: round(bottom - barHeight),
      width: round(Math.max(slot - gap, 1)), height: round(barHeight),
    }, svg('title', {}, `${bar.label}: ${formatValue(bar.value)}`)));
    if (labels) {
      chart.append(svg('text', {
        class: 'chart-label', x: round(x + (slot - gap) / 2), y: height - 3, 'text-anchor': 'middle',
      }, bar.label));
    }
  });
  return chart;
}
