// The live-chart element (explorer/ui/live_chart.py): draws figure dicts with plotly.js, moves charts in
// place when only their values changed, and follows the live feed (explorer/ui/feed.py) while a run trains.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__rnnxPlotly) {
    window.__rnnxPlotly = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url; s.async = true;
      s.onload = () => resolve(window.Plotly); s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  return window.__rnnxPlotly;
}
function record(gd) {
  // per-chart renders: the benchmark and browser tests read them
  const title = ((gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, '');
  const all = window.__rnnxRenders || (window.__rnnxRenders = {});
  const key = gd.dataset.chart;
  const seen = ((all[key] || {}).titles || []).concat([title]).slice(-500);
  all[key] = {title: title, renders: ((all[key] || {}).renders || 0) + 1, at: performance.now(), titles: seen};
}
function counted(gd) {
  if (gd.__rnnxCounted) return;
  gd.__rnnxCounted = true;
  gd.on('plotly_afterplot', () => record(gd));  // plotly's own event after every full redraw
}
function draw(Plotly, gd, frame) {
  // -> undefined when the chart was moved in place (drawn now), else the promise of plotly's redraw
  const t0 = performance.now();
  let done;
  const moved = inPlace(gd, frame);
  if (moved) {
    record(gd);
    gd.__rnnxMoved = true;  // plotly's calcdata (hover) lags: a pointer over the chart brings the full redraw
  } else {
    // what a later frame must keep to be drawn in place instead: only charts made of movable traces can be
    // (a chart of none, a note that this architecture lacks it, stays as it is while its layout does)
    const movable = frame.data.every((t) => KINDS[t.type] && KINDS[t.type].movable(t));
    let layout = frame.layout;
    if (layout.title && layout.title.text !== frame.title) {  // a new object: plotly redraws what differs from the last
      layout = gd.__rnnxLayout = Object.assign({}, layout, {title: Object.assign({}, layout.title, {text: frame.title})});
    }
    const shown = movable ? {layout: layout, config: JSON.stringify(frame.config), rests: frame.data.map(rest)} : null;
    done = Plotly.react(gd, frame.data, layout, frame.config).then(() => {  // it adds uids to the traces
      if (!gd.__rnnxCounted) record(gd);  // the first drawing: later ones are counted from plotly's event
      counted(gd);
      gd.__rnnxShown = shown;
      gd.__rnnxMoved = false;
    });
  }
  gd.__rnnxLast = frame;
  const d = window.__rnnxDraw || (window.__rnnxDraw = {ms: 0, n: 0, charts: {}});
  const ms = performance.now() - t0, c = d.charts[gd.dataset.chart] || (d.charts[gd.dataset.chart] = {ms: 0, n: 0, full: 0});
  d.ms += ms; d.n += 1; c.ms += ms; c.n += 1; c.full += !moved;  // the benchmark reads each chart's drawing time
  return done;
}
// -- charts whose values alone changed: moved in place ---------------------------------------------------
// A full Plotly.react redraws axes, titles, legends and colourbars (15 to 30 ms a chart on a 2-core machine).
// When a frame keeps the layout and every trace but its values (the live charts while training, between two
// changes of an axis range), the new values are drawn into the shapes plotly made: heatmap images repainted
// the way plotly's own "fast" heatmap drawing does (one pixel a cell, scaled up pixelated, plotly's colour
// mapping), a line's path and its markers placed with plotly's own axis mapping, a bar's top and colour.
const KINDS = {
  heatmap: {values: ['z', 'customdata'], movable: () => true, group: 'g.hm', plan: heatmapPlan},
  scatter: {
    values: ['x', 'y', 'customdata', 'text', 'hovertext'],
    movable: (t) => ['lines', 'markers', 'lines+markers'].includes(t.mode || 'lines')
      && !(t.fill && t.fill !== 'none') && !((t.line || {}).shape && t.line.shape !== 'linear') && !t.error_y && !t.error_x,
    group: '.scatterlayer g.trace',
    plan: scatterPlan,
  },
  bar: {
    values: ['y', 'customdata', 'hovertext'],
    movable: (t) => (t.orientation || 'v') === 'v' && t.text === undefined && t.texttemplate === undefined && t.base === undefined,
    group: '.barlayer g.trace',
    plan: barPlan,
  },
};
function rest(trace) {
  const kind = KINDS[trace.type], others = {};
  for (const key of Object.keys(trace)) if (!kind || !kind.values.includes(key)) others[key] = trace[key];
  if (trace.type === 'bar' && trace.marker && Array.isArray(trace.marker.color)) {  // a colour per bar: moved too
    others.marker = Object.assign({}, trace.marker, {color: trace.marker.color.length});
  }
  return JSON.stringify(others);
}
function inPlace(gd, frame) {
  const shown = gd.__rnnxShown;
  if (!shown || gd.__rnnxPointer || shown.layout !== frame.layout || shown.config !== JSON.stringify(frame.config)) return false;
  if (frame.data.length !== shown.rests.length) return false;
  if (frame.data.some((t, i) => rest(t) !== shown.rests[i])) return false;
  const title = titlePlan(gd, frame);
  if (!title) return false;
  const plans = [];
  for (const kind of new Set(frame.data.map((t) => KINDS[t.type]))) {
    for (const g of gd.querySelectorAll(kind.group)) {
      const plan = kind.plan(gd, g, frame);
      if (!plan) return false;
      plans.push(plan);
    }
  }
  if (plans.length !== frame.data.length) return false;  // a trace plotly did not draw (hidden, empty): redraw
  for (const plan of [title, ...plans]) plan();
  return true;
}
function titlePlan(gd, frame) {
  // a title whose words alone changed ("... (step 360)", "...: <br>wrong"): its lines of text rewritten, when
  // they are as many as plotly drew (the layout, and so the title's height, is the same) and plain text
  const layout = frame.layout, now = layout.title ? layout.title.text : undefined;
  if (now === frame.title) return () => {};
  const text = gd.querySelector('.g-gtitle text.gtitle');
  const lines = (frame.title || '').split('<br>'), was = (now || '').split('<br>');
  if (!text || [...lines, ...was].some((line) => /[<&]/.test(line)) || lines.length !== was.length) return null;
  const tspans = lines.length > 1 ? Array.from(text.children) : [];
  if (tspans.length !== (lines.length > 1 ? lines.length : 0)
      || tspans.some((t) => t.tagName !== 'tspan' || !t.classList.contains('line') || t.children.length)) return null;
  return () => {
    if (lines.length === 1) text.textContent = frame.title;
    else tspans.forEach((t, k) => { t.textContent = lines[k]; });
    layout.title.text = frame.title;  // gd.layout: what a PNG export or the next redraw reads
  };
}
function heatmapPlan(gd, g, frame) {
  const cd = g.__data__ && g.__data__[0];
  const image = g.querySelector('image');
  if (!cd || !image || !/pixelated/.test(image.getAttribute('style') || '') || cd.trace.zauto !== false) return null;
  const sent = frame.data[cd.trace.index];
  const z = values(sent.z);
  if (!z || z.rows !== cd.z.length || z.cols !== cd.z[0].length) return null;
  return () => {
    paint(gd, cd, image, z);
    gd.data[cd.trace.index].z = sent.z;  // what a PNG export or the next redraw reads
    gd.data[cd.trace.index].customdata = sent.customdata;
  };
}
function scatterPlan(gd, g, frame) {
  const cd = g.__data__;
  const trace = cd && cd[0] && cd[0].trace;
  if (!trace) return null;
  const plot = gd._fullLayout._plots[trace.xaxis + trace.yaxis];
  const sent = frame.data[trace.index];
  const x = series(sent.x), y = series(sent.y);
  if (!plot || !x || !y || x.length !== y.length) return null;
  const xa = plot.xaxis, ya = plot.yaxis;
  // a range plotly chose for the last frame's data would be wrong for these: only fixed ranges are kept
  if (!MAPPED.has(xa.type) || !MAPPED.has(ya.type) || xa.autorange !== false || ya.autorange !== false) return null;
  const mode = trace.mode || 'lines';
  const line = g.querySelector('path.js-line');
  const points = g.querySelectorAll('g.points path.point');
  const at = [];
  for (let k = 0; k < x.length; k++) at.push(pixel(xa, x[k]) === null || pixel(ya, y[k]) === null ? null : [pixel(xa, x[k]), pixel(ya, y[k])]);
  const drawn = at.filter((p) => p !== null);
  if (mode.includes('lines') && (!line || drawn.length < 2)) return null;
  if (mode.includes('markers') && points.length !== drawn.length) return null;
  return () => {
    if (mode.includes('lines')) line.setAttribute('d', linePath(at));
    if (mode.includes('markers')) points.forEach((point, k) => point.setAttribute('transform', `translate(${drawn[k][0]},${drawn[k][1]})`));
    gd.data[trace.index].x = sent.x;  // what a PNG export or the next redraw reads
    gd.data[trace.index].y = sent.y;
    for (const key of ['customdata', 'text', 'hovertext']) gd.data[trace.index][key] = sent[key];
  };
}
function barPlan(gd, g, frame) {
  // upright bars from 0 on a fixed linear axis: each bar's top (and colour) moves, its sides stay where plotly put them
  const cd = g.__data__;
  const trace = cd && cd[0] && cd[0].trace;
  if (!trace) return null;
  const plot = gd._fullLayout._plots[trace.xaxis + trace.yaxis];
  const sent = frame.data[trace.index], y = series(sent.y);
  if (!plot || !y || plot.yaxis.type !== 'linear' || plot.yaxis.autorange !== false) return null;
  const bars = Array.from(g.querySelectorAll('g.point > path'));
  if (bars.length !== y.length || cd.length !== y.length) return null;
  const zero = pixel(plot.yaxis, 0), shapes = [];
  for (let k = 0; k < bars.length; k++) {
    const sides = /^M(-?[\d.]+),-?[\d.]+V-?[\d.]+H(-?[\d.]+)V/.exec(bars[k].getAttribute('d') || '');
    const top = pixel(plot.yaxis, y[k]);
    if (!sides || top === null || zero === null) return null;
    shapes.push(`M${sides[1]},${zero.toFixed(2)}V${top.toFixed(2)}H${sides[2]}V${zero.toFixed(2)}Z`);
  }
  const colours = sent.marker && Array.isArray(sent.marker.color) ? sent.marker.color : null;
  return () => {
    bars.forEach((bar, k) => bar.setAttribute('d', shapes[k]));
    if (colours) {
      bars.forEach((bar, k) => { bar.style.fill = colours[k]; });
      gd.data[trace.index].marker = sent.marker;
    }
    for (const key of ['y', 'customdata', 'hovertext']) gd.data[trace.index][key] = sent[key];
  };
}
const MAPPED = new Set(['linear', 'log']);
const FAR_PX = 1e5;  // a value far off the axis range is drawn (clipped) this far out, as plotly does
function pixel(ax, v) {
  // plotly's own data-to-pixel mapping of the axis; a gap (null, NaN, or not positive on a log axis) is null
  if (v === null || v !== v || (ax.type === 'log' && !(v > 0))) return null;
  const p = ax.c2p(v);
  return Number.isFinite(p) ? Math.max(-FAR_PX, Math.min(FAR_PX, p)) : null;
}
function linePath(at) {
  // a line through the points, broken at gaps (plotly's connectgaps: false)
  let d = '', open = false;
  for (const p of at) {
    if (p === null) { open = false; continue; }
    d += (open ? 'L' : 'M') + p[0].toFixed(2) + ',' + p[1].toFixed(2);
    open = true;
  }
  return d;
}
function series(spec) {
  // a 1-d array as sent: a plain list (null for a gap) or plotly's typed-array spec
  if (Array.isArray(spec)) return spec.every((v) => v === null || typeof v === 'number') ? spec : null;
  const v = values(spec);
  return v && v.cols === 1 ? v.values : null;
}
function values(spec) {
  // an array as sent (plotly's typed-array spec), 2-d or 1-d (as one column); lists take the full redraw
  if (!spec || spec.bdata === undefined) return null;
  const shape = String(spec.shape).split(',').map(Number);
  const kinds = {f4: Float32Array, i4: Int32Array};
  if (shape.length > 2 || !kinds[spec.dtype]) return null;
  const text = atob(spec.bdata);
  const bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return {values: new kinds[spec.dtype](bytes.buffer), rows: shape[0], cols: shape.length === 2 ? shape[1] : 1};
}
function rgba(colour) {
  // any CSS colour as [r, g, b, a], read back from a canvas (plotly's tinycolor gives the same)
  const cache = window.__rnnxColours || (window.__rnnxColours = new Map());
  if (!cache.has(colour)) {
    const ctx = window.__rnnxCtx || (window.__rnnxCtx = document.createElement('canvas').getContext('2d'));
    ctx.fillStyle = '#000';
    ctx.fillStyle = colour;
    const s = ctx.fillStyle;
    cache.set(colour, s[0] === '#'
      ? [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16), 1]
      : s.slice(s.indexOf('(') + 1, -1).split(',').map(Number));
  }
  return cache.get(colour);
}
function colourScale(trace) {
  // plotly's makeColorScaleFunc: stops at zmin + position * (zmax - zmin), linear in RGBA, clamped
  const scale = trace.reversescale ? trace.colorscale.map(([p, c]) => [1 - p, c]).reverse() : trace.colorscale;
  const at = scale.map(([p]) => trace.zmin + p * (trace.zmax - trace.zmin));
  const colours = scale.map(([, c]) => rgba(c));
  const last = at.length - 1;
  return (v) => {
    if (v <= at[0]) return colours[0];
    if (v >= at[last]) return colours[last];
    let k = 1;
    while (k < last && at[k] <= v) k++;
    const t = (v - at[k - 1]) / (at[k] - at[k - 1]), a = colours[k - 1], b = colours[k];
    return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2]), a[3] + t * (b[3] - a[3])];
  };
}
function paint(gd, cd, image, z) {
  const trace = cd.trace, colour = colourScale(trace);
  const plot = gd._fullLayout._plots[trace.xaxis + trace.yaxis];
  // plotly's orientation: the image's first column is the leftmost brick, its first row the topmost
  const xrev = plot.xaxis.c2p(cd.x[cd.x.length - 1]) < plot.xaxis.c2p(cd.x[0]);
  const yrev = plot.yaxis.c2p(cd.y[cd.y.length - 1]) < plot.yaxis.c2p(cd.y[0]);
  const {values: v, rows: m, cols: n} = z;
  // one canvas per image, kept: a new canvas and its context each frame cost more than the painting
  const canvas = image.__rnnxCanvas || (image.__rnnxCanvas = document.createElement('canvas'));
  if (canvas.width !== n || canvas.height !== m) { canvas.width = n; canvas.height = m; canvas.__rnnxPixels = null; }
  const ctx = canvas.__rnnxContext || (canvas.__rnnxContext = canvas.getContext('2d'));
  const pixels = canvas.__rnnxPixels || (canvas.__rnnxPixels = ctx.createImageData(n, m));
  const px = pixels.data, rows = new Array(m);
  for (let j = 0; j < m; j++) {
    rows[j] = Array.from(v.subarray(j * n, (j + 1) * n), (x) => (x === x ? x : undefined));
    const y = yrev ? m - 1 - j : j;
    for (let i = 0; i < n; i++) {
      const value = v[j * n + i], k = (y * n + (xrev ? n - 1 - i : i)) * 4;
      if (value !== value) { px[k + 3] = 0; continue; }  // NaN: a gap, as plotly draws it
      const c = colour(value);
      px[k] = Math.round(c[0]); px[k + 1] = Math.round(c[1]); px[k + 2] = Math.round(c[2]); px[k + 3] = Math.round(c[3] * 255);
    }
  }
  ctx.putImageData(pixels, 0, 0);
  image.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', canvas.toDataURL('image/png'));
  cd.z = rows;  // hover reads the values from the calcdata
}
function queue() {
  return window.__rnnxQueue || (window.__rnnxQueue = {frames: new Map(), busy: false, acks: []});
}
function enqueue(Plotly, gd, frame, relayout) {
  // a chart out of view keeps its newest frame for when it comes into view, unless its layout changed
  if (gd.__rnnxVisible === false && !relayout) { gd.__rnnxPending = frame; return; }
  gd.__rnnxPending = null;
  const q = queue();
  q.frames.delete(gd);
  q.frames.set(gd, frame);  // the newest frame wins: frames that arrive while the browser is busy are skipped
  pump(Plotly);
}
const PUMP_SLICE_MS = 20;  // charts moved in place one after another in one task, for this long at most
function pump(Plotly) {
  // charts moved in place (a few ms each) are drawn together, so the browser paints them once; a full redraw
  // ends the task, and so does PUMP_SLICE_MS: a click (Pause) is handled between two, never behind a queue of
  // frames. (One chart a task spread a Pause's last frame of 8 charts over 67 ms.)
  const q = queue();
  if (q.busy) return;
  const start = performance.now();
  for (;;) {
    const next = q.frames.entries().next();
    if (next.done) { const acks = q.acks; q.acks = []; acks.forEach((ack) => ack()); return; }
    const [gd, frame] = next.value;
    q.frames.delete(gd);
    let done;
    try { done = draw(Plotly, gd, frame); } catch (error) { done = Promise.reject(error); }
    if (done === undefined && performance.now() - start < PUMP_SLICE_MS) continue;
    q.busy = true;
    Promise.resolve(done).catch((error) => console.warn('live chart', error))
      .finally(() => { q.busy = false; setTimeout(() => pump(Plotly), 0); });
    return;
  }
}
function watch(Plotly, gd) {
  // charts scrolled out of view skip their frames: the browser's time goes to what can be seen
  if (!window.__rnnxSeen) {
    window.__rnnxSeen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        e.target.__rnnxVisible = e.isIntersecting;
        if (e.isIntersecting && e.target.__rnnxPending) enqueue(window.Plotly, e.target, e.target.__rnnxPending, true);
      }
    }, {rootMargin: '100px'});
  }
  window.__rnnxSeen.observe(gd);
}
function pointer(gd) {
  // hover reads plotly's calcdata, which a chart moved in place leaves behind: under the pointer, plotly
  // draws every frame itself, starting with the one on show
  gd.addEventListener('mouseenter', () => {
    gd.__rnnxPointer = true;
    if (gd.__rnnxMoved && gd.__rnnxLast) enqueue(window.Plotly, gd, gd.__rnnxLast, true);
  });
  gd.addEventListener('mouseleave', () => { gd.__rnnxPointer = false; });
}
function apply(Plotly, root, charts, partial) {
  // one frame: a cell per chart, in order; cells no longer named go, with their plots. A `partial` frame (the
  // feed's: only the charts in view) leaves the cells it does not name as they are, and where they are.
  const keep = new Set(charts.map((c) => c.key));
  for (const cell of partial ? [] : Array.from(root.children)) {
    if (!keep.has(cell.dataset.chart)) { queue().frames.delete(cell.firstChild); Plotly.purge(cell.firstChild); cell.remove(); }
  }
  charts.forEach((c, i) => {
    let cell = root.querySelector(`[data-chart="${c.key}"]`);
    if (!cell) {
      cell = document.createElement('div');
      cell.dataset.chart = c.key;
      cell.dataset.name = c.name;
      cell.className = 'rnnx-cell';
      const gd = document.createElement('div');
      gd.dataset.chart = c.key;
      const caption = document.createElement('div');
      caption.className = 'rnnx-caption';
      cell.append(gd, caption);
      watch(Plotly, gd);
      pointer(gd);
    }
    if (!cell.parentNode) root.appendChild(cell);
    else if (!partial && root.children[i] !== cell) root.insertBefore(cell, root.children[i] || null);
    cell.lastChild.textContent = c.caption;
    const gd = cell.firstChild;
    // the same template object every frame, and the previous layout object when nothing in it changed:
    // Plotly.react then redraws the traces only, with no relayout
    // (a title whose text alone changed keeps the layout: the text goes with the frame)
    const title = c.layout.title && typeof c.layout.title === 'object' ? c.layout.title.text : undefined;
    const text = JSON.stringify(title === undefined ? c.layout : Object.assign({}, c.layout, {title: Object.assign({}, c.layout.title, {text: null})}));
    const same = text === gd.__rnnxLayoutText;
    if (!same) gd.__rnnxLayout = Object.assign({template: window.__rnnxTemplate}, c.layout);
    const layout = gd.__rnnxLayout;
    gd.__rnnxLayoutText = text;
    enqueue(Plotly, gd, {data: c.data, layout: layout, title: title, config: root.__rnnxConfig}, !same);
  });
}
function setTemplate(template) {
  const text = JSON.stringify(template);
  if (window.__rnnxTemplateText !== text) {
    window.__rnnxTemplateText = text;
    window.__rnnxTemplate = template;
  }
}
function drawn(Plotly) {
  // resolves when every queued chart frame has been drawn
  return new Promise((resolve) => { queue().acks.push(resolve); pump(Plotly); });
}
const FEED_EVERY_MS = 120;  // at least this long between two frames (the trainer publishes every 150 ms)
const FEED_STALE_MS = 250;  // a frame that came this long before the browser could draw it is asked for anew
function inView(root) {
  // the names of this element's charts in view (or not yet known to be out of it), for the feed to build only
  // those; null before the element has any (the first frame brings them all)
  const cells = Array.from(root.children).filter((cell) => cell.dataset.name);
  if (!cells.length) return null;
  return cells.filter((cell) => cell.firstChild.__rnnxVisible !== false).map((cell) => cell.dataset.name).join(',');
}
async function ask(url, since, only) {
  // the next frame newer than `since` (the server holds the request until there is one, up to a second):
  // {frame} | {empty: true} (none came: 204) | {error} (the network failed, or a refusal)
  try {
    const view = only === null ? '' : `&only=${encodeURIComponent(only)}`;
    const response = await fetch(`${url}?since=${since}${view}`, {cache: 'no-store', credentials: 'same-origin'});
    if (response.status === 204) return {empty: true};
    if (response.status !== 200) return {error: response.status};
    const frame = await response.json();
    return {frame: frame, at: performance.now()};
  } catch (error) {
    console.warn('live feed', error);
    return {error: error};
  }
}
function progressBar(node, words) {
  // a '%' piece: a bar filled to its done fraction, in the theme's colour (explorer/ui/live_chart.py: status)
  const done = Math.max(0, Math.min(1, Number(words) || 0));
  const bar = document.createElement('span');
  bar.className = 'rnnx-bar';
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuenow', String(Math.round(done * 100)));
  const fill = document.createElement('span');
  fill.style.width = `${done * 100}%`;
  if (node.dataset.colour) fill.style.background = node.dataset.colour;
  bar.append(fill);
  return bar;
}
function writeLine(node, line) {
  // a status line's pieces: [text, style], style 'b' bold, 'i' italic, '' plain, '%' a progress bar; rewritten
  // only when it changed
  const text = JSON.stringify(line);
  if (node.__rnnxLine === text) return;
  node.__rnnxLine = text;
  node.replaceChildren(...line.map(([words, style]) => {
    if (!style) return document.createTextNode(words);
    if (style === '%') return progressBar(node, words);
    const span = document.createElement(style === 'b' ? 'strong' : 'em');
    span.textContent = words;
    return span;
  }));
}
function writeLines(lines) {
  // the status lines a frame carries, by their container's key (explorer/ui/live_chart.py: status)
  for (const [key, line] of Object.entries(lines || {})) {
    const node = document.querySelector(`.rnnx-status[data-target="${CSS.escape(key)}"]`);
    if (!node) continue;
    writeLine(node, line);
    const fed = window.__rnnxLinesFed || (window.__rnnxLinesFed = []);  // browser tests read what frames wrote
    fed.push(node.textContent);
    fed.splice(0, fed.length - 50);
  }
}
async function follow(Plotly, root, url, ended) {
  // while the run trains: ask for the next frame, and while it comes, draw the one before. A frame that waited
  // too long while the last one was drawn is asked for again (the server answers with the newest at once), so
  // a slow browser gets fewer frames, never late ones.
  if (root.__rnnxFeed === url) return;
  root.__rnnxFeed = url;
  const following = () => root.__rnnxFeed === url && root.isConnected;
  let since = -1, last = 0;
  const askNext = () => ask(url, since, inView(root));  // for a frame newer than `since`, of the charts in view now
  let next = askNext();
  while (following()) {
    const answer = await next;
    if (!following()) return;  // the page has moved on (Pause): its own frame is the last word
    if (answer.frame && performance.now() - answer.at > FEED_STALE_MS && !answer.frame.stopped) {
      next = askNext();  // a newer one is there by now
      continue;
    }
    if (answer.frame) {
      const frame = answer.frame;
      if (frame.stopped) {  // the run stopped training: the page reruns and draws its last frame
        if (frame.rerun !== false) ended();  // a Pause's page run is under way already
        break;
      }
      since = frame.version;
      next = askNext();  // on its way while this one is drawn
      const wait = FEED_EVERY_MS - (performance.now() - last);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!following()) return;
      last = performance.now();
      if (frame.template) setTemplate(frame.template);
      writeLines(frame.lines);
      apply(Plotly, root, frame.charts, true);
      await drawn(Plotly);
      window.__rnnxFeedFrames = (window.__rnnxFeedFrames || 0) + 1;
    } else if (answer.empty) {
      next = askNext();  // the server waited a second for a frame: the run is slow, ask again
    } else if (answer.error instanceof Error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));  // the network failed: again in a second
      next = askNext();
    } else {
      break;  // refused (400): nothing to follow
    }
  }
  if (root.__rnnxFeed === url) root.__rnnxFeed = null;
}
export default function (component) {
  const { data, parentElement } = component;
  if (!data) return;
  if (data.line) {  // a status line (explorer/ui/live_chart.py: status), which live frames rewrite too
    let node = parentElement.querySelector('.rnnx-status');
    if (!node) {
      node = document.createElement('p');
      node.className = 'rnnx-status';
      parentElement.appendChild(node);
    }
    node.dataset.target = data.target;
    if (data.colour) node.dataset.colour = data.colour;
    writeLine(node, data.line);
    return;
  }
  window.__rnnxPageFrames = (window.__rnnxPageFrames || 0) + (data.charts ? 1 : 0);  // frames sent by a page run
  let root = parentElement.querySelector('.rnnx-live');
  if (!root) {
    root = document.createElement('div');
    root.className = 'rnnx-live';
    parentElement.appendChild(root);
  }
  root.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
  root.__rnnxConfig = data.config;
  if (!data.feed) root.__rnnxFeed = null;  // a frame from the page: any feed stops at once
  if (data.template) setTemplate(data.template);
  loadPlotly(data.plotly).then((Plotly) => {
    if (data.charts) apply(Plotly, root, data.charts);
    // the run stopped: its fragment reruns now, and sees it, rather than at its next timed run
    if (data.feed) follow(Plotly, root, data.feed, () => component.setTriggerValue('ended', true));
    // tell the page which step the browser has drawn (a slow Pace waits for it before the next step)
    if (data.step !== null && data.step !== undefined) {
      queue().acks.push(() => component.setStateValue('drawn', data.step));
      pump(Plotly);
    }
  });
}
