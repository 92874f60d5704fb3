// The report page's own script (lib/report/page.ts inlines it after Vega and vega-interpreter).
// It builds the page from the JSON block #semihard-data with DOM text nodes and properties only
// (never innerHTML, never markup from data), draws the Vega charts on canvas with the CSP-safe
// expression interpreter, and wires the map: hover shows a point's thumbnail, class and file;
// click lists its nearest neighbours (computed when the report was written); the legend hides
// classes. window.semihardReport exposes the data and the Vega views (tests ask them).
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('semihard-data').textContent);
  var root = document.getElementById('report');
  var report = { data: data, views: {}, selected: null };
  window.semihardReport = report;

  // ---- DOM helpers: text only --------------------------------------------------------------
  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    });
    return node;
  }
  function thumb(point, className) {
    var img = document.createElement('img');
    img.className = className || 'thumb';
    img.alt = point.cls;
    img.src = 'data:' + data.map.thumbnailType + ';base64,' + data.map.thumbnails[point.i];
    return img;
  }
  function percent(x) {
    return (x * 100).toFixed(2) + '%';
  }
  function seconds(s) {
    if (s < 90) return s.toFixed(1) + ' s';
    if (s < 5400) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(2) + ' h';
  }
  function sourceOf(point) {
    return point.source === null ? 'validation sample #' + point.index : point.source;
  }
  function section(title, id) {
    var s = el('section', 'card', [el('h2', null, [title])]);
    if (id) s.id = id;
    root.appendChild(s);
    return s;
  }

  // ---- Vega --------------------------------------------------------------------------------
  function view(spec, container) {
    var runtime = vega.parse(spec, null, { ast: true });
    return new vega.View(runtime, { expr: vega.expressionInterpreter, renderer: 'canvas', container: container, hover: true });
  }

  // ---- header ------------------------------------------------------------------------------
  var run = data.run;
  var metrics = data.metrics;
  document.title = run.title;
  var header = el('header', null, [
    el('h1', null, [run.title]),
    el('p', 'subtitle', [
      run.data + ' · ' + run.classNames.length + ' classes · ' + run.steps + ' steps in ' + seconds(run.trainingSeconds) +
        ' · ' + run.device + ' · ' + run.precision + (run.finished ? '' : ' · unfinished run'),
    ]),
  ]);
  var cards = el('div', 'metrics', []);
  [
    ['kNN accuracy (k = ' + metrics.k + ')', metrics.knnAccuracy],
    ['linear accuracy', metrics.linearAccuracy],
    ['SVM accuracy', metrics.svmAccuracy],
    ['P@1', metrics.precisionAt1],
    ['R-precision', metrics.rPrecision],
    ['MAP@R', metrics.mapAtR],
  ].forEach(function (m) {
    cards.appendChild(el('div', 'metric', [el('div', 'value', [percent(m[1])]), el('div', 'name', [m[0]])]));
  });
  header.appendChild(cards);
  root.appendChild(header);

  // ---- the embedding map -------------------------------------------------------------------
  var mapSection = section((data.map.method === 'tsne' ? 't-SNE' : 'PCA') + ' of the validation embeddings', 'map-section');
  mapSection.appendChild(
    el('p', 'hint', [
      data.map.points.length + ' of ' + data.map.validCount + ' validation samples. Scroll to zoom, drag to pan, double-click to reset; ' +
        'hover a point to see it, click it for its ' + data.neighbours.k + ' nearest neighbours; click a class to hide it.',
    ]),
  );
  var mapRow = el('div', 'map-row', []);
  var mapBox = el('div', 'map', []);
  mapBox.id = 'map';
  var side = el('div', 'side', []);
  var legend = el('div', 'legend', []);
  legend.id = 'legend';
  var panel = el('div', 'neighbours', [el('p', 'hint', ['Click a point to list its nearest neighbours.'])]);
  panel.id = 'neighbours';
  side.appendChild(legend);
  side.appendChild(panel);
  mapRow.appendChild(mapBox);
  mapRow.appendChild(side);
  mapSection.appendChild(mapRow);
  var tooltip = el('div', 'tooltip', []);
  tooltip.id = 'tooltip';
  tooltip.hidden = true;
  document.body.appendChild(tooltip);

  var hidden = new Set();
  function pointOf(item) {
    if (!item || !item.datum || typeof item.datum.i !== 'number') return null;
    var point = data.map.points[item.datum.i];
    return point && !hidden.has(point.cls) ? point : null;
  }
  function showTooltip(point, event) {
    tooltip.textContent = '';
    tooltip.appendChild(thumb(point, 'thumb large'));
    tooltip.appendChild(el('div', 'cls', [point.cls]));
    tooltip.appendChild(el('div', 'source', [sourceOf(point)]));
    tooltip.dataset.point = String(point.i);
    tooltip.hidden = false;
    var x = event.clientX + 16;
    var y = event.clientY + 16;
    var box = tooltip.getBoundingClientRect();
    if (x + box.width > window.innerWidth) x = event.clientX - box.width - 16;
    if (y + box.height > window.innerHeight) y = event.clientY - box.height - 16;
    tooltip.style.left = Math.max(0, x) + 'px';
    tooltip.style.top = Math.max(0, y) + 'px';
  }
  function hideTooltip() {
    tooltip.hidden = true;
    delete tooltip.dataset.point;
  }
  function select(i) {
    var point = data.map.points[i];
    report.selected = i;
    panel.textContent = '';
    panel.dataset.point = String(i);
    panel.appendChild(el('h3', null, ['Nearest neighbours']));
    panel.appendChild(el('div', 'query', [thumb(point), el('div', null, [el('div', 'cls', [point.cls]), el('div', 'source', [sourceOf(point)])])]));
    var list = el('ol', null, []);
    data.neighbours.indices[i].forEach(function (j, rank) {
      var other = data.map.points[j];
      var item = el('li', other.cls === point.cls ? 'same' : 'other', [
        thumb(other),
        el('div', null, [el('div', 'cls', [other.cls]), el('div', 'distance', ['distance ' + data.neighbours.distances[i][rank].toFixed(4)]), el('div', 'source', [sourceOf(other)])]),
      ]);
      item.dataset.point = String(j);
      item.dataset.index = String(other.index);
      item.addEventListener('click', function () {
        select(j);
      });
      list.appendChild(item);
    });
    panel.appendChild(list);
  }
  report.select = select;

  function drawMap() {
    var mapView = view(data.specs.map, mapBox);
    report.views.map = mapView;
    mapView.data('points', data.map.points);
    mapView.addEventListener('mousemove', function (event, item) {
      var point = pointOf(item);
      if (point) showTooltip(point, event);
      else hideTooltip();
    });
    mapView.addEventListener('mouseout', function (event, item) {
      if (!pointOf(item)) return;
      hideTooltip();
    });
    mapView.addEventListener('click', function (event, item) {
      var point = pointOf(item);
      if (point) select(point.i);
    });
    return mapView.runAsync().then(function () {
      var counts = new Map();
      data.map.points.forEach(function (p) {
        counts.set(p.cls, (counts.get(p.cls) || 0) + 1);
      });
      var colour = mapView.scale('color');
      var showAll = el('button', 'show-all', ['show all']);
      showAll.type = 'button';
      legend.appendChild(showAll);
      var entries = [];
      colour.domain().forEach(function (name) {
        if (!counts.has(name)) return;
        var swatch = el('span', 'swatch', []);
        swatch.style.backgroundColor = colour(name);
        var entry = el('button', 'entry', [swatch, el('span', 'name', [name]), el('span', 'count', [String(counts.get(name))])]);
        entry.type = 'button';
        entry.title = 'hide or show ' + name;
        entry.addEventListener('click', function () {
          if (hidden.has(name)) hidden.delete(name);
          else hidden.add(name);
          entry.classList.toggle('off', hidden.has(name));
          mapView.signal('hidden', Array.from(hidden)).runAsync();
        });
        entries.push(entry);
        legend.appendChild(entry);
      });
      showAll.addEventListener('click', function () {
        hidden.clear();
        entries.forEach(function (e) {
          e.classList.remove('off');
        });
        mapView.signal('hidden', []).runAsync();
      });
    });
  }

  // ---- training curves ---------------------------------------------------------------------
  var curves = section('Training', 'curves');
  var curveRow = el('div', 'row', []);
  var lossBox = el('div', 'chart', []);
  var lrBox = el('div', 'chart', []);
  curveRow.appendChild(lossBox);
  curveRow.appendChild(lrBox);
  curves.appendChild(curveRow);
  function drawCurves() {
    var recordedLr = data.history.steps.some(function (s) {
      return s.lr !== null;
    });
    var jobs = [];
    var loss = view(data.specs.loss, lossBox);
    report.views.loss = loss;
    loss.data('steps', data.history.steps).data('epochs', lossSeries()).data('phases', data.history.phases);
    jobs.push(loss.runAsync());
    if (recordedLr) {
      var lr = view(data.specs.lr, lrBox);
      report.views.lr = lr;
      lr.data('steps', data.history.steps).data('phases', data.history.phases);
      jobs.push(lr.runAsync());
    } else {
      lrBox.appendChild(el('p', 'hint', ['This checkpoint predates recorded learning rates: no schedule to draw.']));
    }
    return Promise.all(jobs);
  }
  function lossSeries() {
    var out = [];
    data.history.epochs.forEach(function (e) {
      out.push({ epoch: e.epoch, loss: e.trainLoss, series: 'train (epoch mean)' });
      out.push({ epoch: e.epoch, loss: e.validLoss, series: 'valid' });
    });
    return out;
  }
  if (data.history.epochs.length === 0) curves.appendChild(el('p', 'hint', ['No epoch finished yet.']));

  // ---- confusion and per-class table -------------------------------------------------------
  var quality = section('Per class', 'classes');
  var qualityRow = el('div', 'row', []);
  var confusionBox = el('div', 'chart confusion', []);
  var tableBox = el('div', 'table-box', []);
  qualityRow.appendChild(confusionBox);
  qualityRow.appendChild(tableBox);
  quality.appendChild(qualityRow);
  // A heat map up to MAX_MATRIX classes (beyond, its cells are too small to read); the most
  // frequent confusions as a table always.
  var MAX_MATRIX = 60;
  function drawConfusion() {
    if (data.confusionClasses > MAX_MATRIX) {
      confusionBox.appendChild(el('p', 'hint', [data.confusionClasses + ' classes: too many for a readable matrix; the most frequent confusions are listed below.']));
      return Promise.resolve();
    }
    var v = view(data.specs.confusion, confusionBox);
    report.views.confusion = v;
    v.data('confusion', data.confusion);
    return v.runAsync();
  }
  (function topConfusions() {
    var off = data.confusion
      .filter(function (c) {
        return c.truth !== c.predicted;
      })
      .sort(function (a, b) {
        return b.count - a.count;
      })
      .slice(0, 20);
    var table = el('table', 'per-class', [el('thead', null, [el('tr', null, [el('th', null, ['true class']), el('th', null, ['kNN prediction']), el('th', null, ['samples'])])])]);
    table.id = 'top-confusions';
    var body = el('tbody', null, []);
    off.forEach(function (c) {
      body.appendChild(el('tr', null, [el('td', null, [c.truth]), el('td', null, [c.predicted]), el('td', 'num', [String(c.count)])]));
    });
    table.appendChild(body);
    quality.appendChild(el('h3', null, ['Most frequent kNN confusions']));
    quality.appendChild(off.length > 0 ? table : el('p', 'hint', ['None: kNN classified every validation sample correctly.']));
  })();
  (function perClassTable() {
    var columns = [
      ['class', 'name'],
      ['samples', 'count'],
      ['kNN accuracy', 'knnAccuracy'],
    ];
    var rows = metrics.perClass.slice();
    var sortKey = null;
    var descending = false;
    var table = el('table', 'per-class', []);
    table.id = 'per-class';
    var head = el('tr', null, []);
    var body = el('tbody', null, []);
    function fill() {
      body.textContent = '';
      rows.forEach(function (r) {
        body.appendChild(el('tr', null, [el('td', null, [r.name]), el('td', 'num', [String(r.count)]), el('td', 'num', [percent(r.knnAccuracy)])]));
      });
    }
    columns.forEach(function (c) {
      var th = el('th', null, [c[0]]);
      th.dataset.key = c[1];
      th.title = 'sort by ' + c[0];
      th.addEventListener('click', function () {
        descending = sortKey === c[1] ? !descending : c[1] !== 'name';
        sortKey = c[1];
        rows.sort(function (a, b) {
          var order = typeof a[sortKey] === 'string' ? a[sortKey].localeCompare(b[sortKey]) : a[sortKey] - b[sortKey];
          return descending ? -order : order;
        });
        Array.prototype.forEach.call(head.children, function (h) {
          h.className = h.dataset.key === sortKey ? (descending ? 'sorted desc' : 'sorted asc') : '';
        });
        fill();
      });
      head.appendChild(th);
    });
    table.appendChild(el('thead', null, [head]));
    table.appendChild(body);
    fill();
    tableBox.appendChild(table);
  })();

  // ---- worst mistakes ----------------------------------------------------------------------
  var mistakes = section('Worst mistakes', 'mistakes');
  mistakes.appendChild(
    el('p', 'hint', [
      'Validation samples whose nearest neighbour on the map has another class, those whose own class lies furthest beyond that neighbour first (' +
        data.mistakes.length + ' shown).',
    ]),
  );
  var grid = el('div', 'mistake-grid', []);
  data.mistakes.forEach(function (m) {
    var p = data.map.points[m.point];
    var q = data.map.points[m.neighbour];
    var card = el('div', 'mistake', [
      el('div', 'pair', [thumb(p), el('span', 'arrow', ['→']), thumb(q)]),
      el('div', 'cls', [p.cls + ' → ' + q.cls]),
      el('div', 'distance', ['distance ' + m.distance.toFixed(3) + (m.sameClassDistance === null ? '' : ' (own class at ' + m.sameClassDistance.toFixed(3) + ')')]),
    ]);
    card.title = sourceOf(p) + '\n' + sourceOf(q);
    card.dataset.point = String(m.point);
    card.addEventListener('click', function () {
      select(m.point);
      mapSection.scrollIntoView();
    });
    grid.appendChild(card);
  });
  if (data.mistakes.length === 0) grid.appendChild(el('p', 'hint', ['None: every sample\'s nearest neighbour has its class.']));
  mistakes.appendChild(grid);

  // ---- the run -----------------------------------------------------------------------------
  var details = section('The run', 'run');
  var dl = el('dl', null, []);
  [
    ['data', run.data],
    ['classes', run.classNames.join(', ')],
    ['checkpoint', run.checkpoint],
    ['checkpoint written', run.createdAt],
    ['steps', String(run.steps)],
    ['training time', seconds(run.trainingSeconds)],
    ['device', run.device],
    ['precision', run.precision],
    ['train / validation samples', metrics.trainCount + ' / ' + metrics.validCount],
    ['semihard', run.versions.semihard],
    ['LibTorch (training)', run.versions.libtorchTraining],
    ['LibTorch (this report)', run.versions.libtorchReport],
    ['report written', run.generatedAt],
  ].forEach(function (pair) {
    dl.appendChild(el('dt', null, [pair[0]]));
    dl.appendChild(el('dd', null, [pair[1]]));
  });
  details.appendChild(dl);
  details.appendChild(el('h3', null, ['configuration']));
  details.appendChild(el('pre', 'config', [JSON.stringify(run.config, null, 2)]));

  report.ready = Promise.all([drawMap(), drawCurves(), drawConfusion()]).then(
    function () {
      document.body.dataset.ready = 'true';
    },
    function (err) {
      root.insertBefore(el('p', 'error', ['The charts could not be drawn: ' + (err && err.message ? err.message : String(err))]), root.firstChild);
      throw err;
    },
  );
})();
