/**
 * The inspector page: one self-contained HTML document (inline CSS and JS, no CDN, no library)
 * that polls `data.json` next to it and draws the message rates on a <canvas>.
 *
 * Everything that comes from clients (user names, destinations, origins) is put in the page with
 * `textContent` only, never as HTML; the only values written into the markup here are the title
 * (HTML-escaped) and numbers. The response's Content-Security-Policy allows only this page's own
 * inline style and script (by nonce) and fetches to the same origin.
 */

export interface PageOptions {
  /** Shown in the title bar. */
  title: string;
  /** ms between polls of data.json. */
  pollInterval: number;
}

/** The response headers of the page: no caching, no framing, scripts only by `nonce`. */
export function pageHeaders(nonce: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}

/** Headers of the JSON endpoint. */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function renderPage(options: PageOptions, nonce: string): string {
  const title = escapeHtml(options.title);
  const poll = Math.max(100, Math.floor(options.pollInterval));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>${title}</title>
<style nonce="${nonce}">${CSS}</style>
</head>
<body>
<header class="bar">
  <div class="brand"><span class="logo" aria-hidden="true"></span><h1>${title}</h1><span class="server" data-testid="server"></span></div>
  <div class="status" data-testid="status" data-state="connecting"><span class="dot"></span><span class="status-text">connecting…</span><span class="updated" data-testid="updated"></span></div>
</header>
<main>
  <section class="tiles" aria-label="Summary">
    <div class="tile"><div class="label">Connections</div><div class="value" data-testid="tile-connections">–</div><div class="sub" data-testid="tile-opened"></div></div>
    <div class="tile"><div class="label">Sessions</div><div class="value" data-testid="tile-sessions">–</div><div class="sub" data-testid="tile-versions"></div></div>
    <div class="tile"><div class="label">Subscriptions</div><div class="value" data-testid="tile-subscriptions">–</div><div class="sub" data-testid="tile-destinations"></div></div>
    <div class="tile in"><div class="label">Messages in</div><div class="value" data-testid="tile-in-rate">–</div><div class="sub" data-testid="tile-in-total"></div></div>
    <div class="tile out"><div class="label">Messages out</div><div class="value" data-testid="tile-out-rate">–</div><div class="sub" data-testid="tile-out-total"></div></div>
    <div class="tile"><div class="label">Queued / unacked</div><div class="value" data-testid="tile-queued">–</div><div class="sub" data-testid="tile-buffered"></div></div>
    <div class="tile warn"><div class="label">Dropped</div><div class="value" data-testid="tile-dropped">–</div><div class="sub" data-testid="tile-redelivered"></div></div>
    <div class="tile bad"><div class="label">Errors</div><div class="value" data-testid="tile-errors">–</div><div class="sub" data-testid="tile-heartbeat"></div></div>
  </section>

  <section class="card">
    <div class="card-head"><h2>Message rate</h2>
      <div class="legend"><span class="key in"></span>in <span class="muted" data-testid="legend-in"></span><span class="key out"></span>out <span class="muted" data-testid="legend-out"></span><span class="muted" data-testid="chart-span">· messages/s</span></div>
    </div>
    <div class="chart-box"><canvas data-testid="chart" role="img" aria-label="Messages per second, in and out, over the last minute"></canvas></div>
  </section>

  <section class="card">
    <div class="card-head"><h2>Sessions <span class="count" data-testid="session-count"></span></h2></div>
    <div class="table-wrap"><table data-testid="sessions-table">
      <thead><tr><th>User</th><th>Version</th><th>Origin</th><th>Remote address</th><th>Transport</th><th class="num">Age</th><th class="num">Subs</th><th class="num">Buffered</th><th>Session id</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>

  <div class="columns">
    <section class="card">
      <div class="card-head"><h2>Relay to RabbitMQ</h2></div>
      <div class="table-wrap"><table data-testid="relay-table">
        <thead><tr><th>Relay</th><th class="num">Value</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
    <section class="card">
      <div class="card-head"><h2>Users <span class="count" data-testid="user-count"></span></h2></div>
      <div class="table-wrap"><table data-testid="users-table">
        <thead><tr><th>User</th><th class="num">Sessions</th><th>Nodes</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
  </div>

  <div class="columns">
    <section class="card">
      <div class="card-head"><h2>Subscriptions per destination</h2></div>
      <div class="table-wrap"><table data-testid="destinations-table">
        <thead><tr><th>Destination</th><th class="num">Subscriptions</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
    <section class="card">
      <div class="card-head"><h2>Queue depths</h2></div>
      <div class="table-wrap"><table data-testid="queues-table">
        <thead><tr><th>Queue</th><th class="num">Held messages</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
  </div>

  <div class="columns">
    <section class="card">
      <div class="card-head"><h2>Traffic by prefix</h2></div>
      <div class="table-wrap"><table data-testid="prefix-table">
        <thead><tr><th>Prefix</th><th class="num">In</th><th class="num">In bytes</th><th class="num">Out</th><th class="num">Out bytes</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
    <section class="card">
      <div class="card-head"><h2>Errors and limits</h2></div>
      <div class="table-wrap"><table data-testid="errors-table">
        <thead><tr><th>Code / limit</th><th class="num">Count</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
  </div>
</main>
<script nonce="${nonce}">
const POLL_INTERVAL = ${poll};
${SCRIPT}
</script>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root{--bg:#f4f6fa;--card:#fff;--ink:#1c2333;--muted:#6b7385;--line:#e3e7ef;--accent:#3867f5;--in:#3867f5;--out:#14a06b;--warn:#c77700;--bad:#d03b3b;--head:#141a2b}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.bar{display:flex;align-items:center;justify-content:space-between;gap:16px;padding:12px 24px;background:var(--head);color:#e8ecf6}
.brand{display:flex;align-items:center;gap:12px;min-width:0}
.logo{width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#5b86ff,#14c08a);flex:none}
h1{font-size:16px;margin:0;font-weight:600;letter-spacing:.2px}
.server{color:#9aa4bd;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{display:flex;align-items:center;gap:8px;font-size:13px;color:#c6cde0}
.status .dot{width:9px;height:9px;border-radius:50%;background:#8a93a8}
.status[data-state=live] .dot{background:#22c55e;box-shadow:0 0 0 3px rgba(34,197,94,.22)}
.status[data-state=offline] .dot,.status[data-state=forbidden] .dot{background:var(--bad)}
.updated{color:#8a93a8}
main{max-width:1280px;margin:0 auto;padding:20px 24px 40px}
.tiles{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin-bottom:16px}
@media (max-width:860px){.tiles{grid-template-columns:repeat(2,minmax(0,1fr))}}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;border-top:3px solid var(--line)}
.tile.in{border-top-color:var(--in)}.tile.out{border-top-color:var(--out)}.tile.warn{border-top-color:var(--warn)}.tile.bad{border-top-color:var(--bad)}
.tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.tile .value{font-size:24px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.tile .sub{color:var(--muted);font-size:12px;min-height:17px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:16px;min-width:0}
.card-head{display:flex;align-items:baseline;justify-content:space-between;gap:12px;flex-wrap:wrap;margin-bottom:8px}
h2{font-size:14px;margin:0;font-weight:600}
.count{color:var(--muted);font-weight:400}
.legend{display:flex;align-items:center;gap:6px;font-size:12px}
.key{display:inline-block;width:14px;height:3px;border-radius:2px;margin-left:8px}
.key.in{background:var(--in)}.key.out{background:var(--out)}
.muted{color:var(--muted)}
.chart-box{position:relative;height:220px}
canvas{display:block;width:100%;height:100%}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.columns .card{margin-bottom:16px}
@media (max-width:860px){.columns{grid-template-columns:1fr}}
.table-wrap{max-height:360px;overflow:auto}
table{width:100%;border-collapse:collapse;font-size:13px}
th{position:sticky;top:0;background:var(--card);text-align:left;color:var(--muted);font-weight:500;font-size:12px;border-bottom:1px solid var(--line);padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid #f0f2f7;padding:6px 8px;vertical-align:top;max-width:320px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.anon{color:var(--muted);font-style:italic}
.empty td{color:var(--muted);text-align:center;padding:14px}
.pill{display:inline-block;padding:0 7px;border-radius:9px;background:#eef2ff;color:#3452c4;font-size:12px}
.pill.v10{background:#fff4e5;color:#9a5b00}.pill.v11{background:#e9f9f1;color:#0d7a50}
.pill.state{background:#f1f2f5;color:var(--muted)}
`;

const SCRIPT = `'use strict';
(() => {
  const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const dataUrl = base + 'data.json';
  const byId = (id) => document.querySelector('[data-testid="' + id + '"]');
  const canvas = byId('chart');
  let lastData = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function setText(id, text) {
    const node = byId(id);
    if (node) node.textContent = text;
  }
  const nf = new Intl.NumberFormat('en-US');
  function num(n) { return nf.format(Math.round(n)); }
  function rate(n) {
    if (n === null || n === undefined) return '–';
    return n >= 100 ? num(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  }
  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n >= 100 ? 0 : 1)) + ' ' + units[i];
  }
  function age(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    const h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function sum(record) {
    let total = 0;
    for (const key of Object.keys(record || {})) total += record[key] || 0;
    return total;
  }

  /** Replaces a table body's rows; values are only ever set as text. */
  function fillTable(name, items, columns, emptyText, rowAttrs) {
    const body = byId(name).tBodies[0];
    const fragment = document.createDocumentFragment();
    if (items.length === 0) {
      const tr = el('tr', 'empty');
      const td = el('td', '', emptyText);
      td.colSpan = columns.length;
      tr.appendChild(td);
      fragment.appendChild(tr);
    }
    for (const item of items) {
      const tr = el('tr');
      if (rowAttrs) rowAttrs(tr, item);
      for (const column of columns) {
        const td = el('td', column.className || '');
        const value = column.value(item);
        if (value instanceof Node) td.appendChild(value);
        else td.textContent = value === null || value === undefined ? '' : String(value);
        if (column.title) td.title = column.title(item);
        tr.appendChild(td);
      }
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
  }

  function versionPill(version) {
    if (!version) return el('span', 'pill state', 'pending');
    return el('span', 'pill v' + version.replace('.', ''), version);
  }

  function render(data) {
    lastData = data;
    const s = data.stats;
    setText('server', data.server);
    setText('tile-connections', num(s.connections));
    setText('tile-opened', num(s.connectionsOpened) + ' opened');
    setText('tile-sessions', num(s.sessions));
    const v = s.sessionsByVersion;
    setText('tile-versions', '1.2: ' + v['1.2'] + ' · 1.1: ' + v['1.1'] + ' · 1.0: ' + v['1.0']);
    setText('tile-subscriptions', num(s.subscriptions));
    setText('tile-destinations', num(s.destinations) + ' destinations');
    const r = data.rates;
    setText('tile-in-rate', r ? rate(r.messagesIn) + '/s' : '–');
    setText('tile-out-rate', r ? rate(r.messagesOut) + '/s' : '–');
    setText('tile-in-total', num(sum(s.messagesIn)) + ' total · ' + bytes(sum(s.bytesIn)));
    setText('tile-out-total', num(sum(s.messagesOut)) + ' total · ' + bytes(sum(s.bytesOut)));
    setText('legend-in', r ? rate(r.messagesIn) : '');
    setText('legend-out', r ? rate(r.messagesOut) : '');
    setText('tile-queued', num(sum(s.queueDepths)) + ' / ' + num(s.unacked));
    setText('tile-buffered', bytes(s.outboundBufferedBytes) + ' buffered');
    setText('tile-dropped', num(s.dropped));
    setText('tile-redelivered', num(s.redelivered) + ' redelivered · ' + num(s.deadLettered) + ' dead');
    setText('tile-errors', num(sum(s.errorsByCode)));
    setText('tile-heartbeat', num(s.heartbeatTimeouts) + ' heart-beat timeouts');

    setText('session-count', data.sessions.length < data.sessionCount
      ? '(' + data.sessions.length + ' of ' + num(data.sessionCount) + ')'
      : '(' + num(data.sessionCount) + ')');
    fillTable('sessions-table', data.sessions, [
      { value: (x) => x.user === null ? el('span', 'anon', 'anonymous') : x.user, title: (x) => x.user || '' },
      { value: (x) => versionPill(x.version) },
      { value: (x) => x.origin === null ? el('span', 'muted', '—') : x.origin, title: (x) => x.origin || '' },
      { value: (x) => x.remoteAddress === null ? '' : x.remoteAddress, className: 'mono' },
      { value: (x) => x.transport, className: 'mono' },
      { value: (x) => age(x.age), className: 'num' },
      { value: (x) => num(x.subscriptions), className: 'num' },
      { value: (x) => bytes(x.outboundBytes), className: 'num' },
      { value: (x) => x.id.slice(0, 8), className: 'mono muted', title: (x) => x.id },
    ], 'No sessions', (tr, x) => {
      tr.dataset.testid = 'session-row';
      tr.dataset.session = x.id;
      tr.dataset.user = x.user === null ? '' : x.user;
    });
    const relay = s.relay;
    const relayRows = relay ? [
      { name: 'state', value: relay.connected ? 'connected' : relay.connectionsUp + ' of ' + relay.connections + ' connections up' },
      { name: 'connections', value: relay.connectionsUp + ' / ' + relay.connections },
      { name: 'reconnects', value: num(relay.reconnects) },
      { name: 'RabbitMQ round trip', value: relay.roundTripMs < 0 ? '—' : relay.roundTripMs.toFixed(2) + ' ms' },
      { name: 'relayed to RabbitMQ', value: num(relay.relayedOut) },
      { name: 'relayed from RabbitMQ', value: num(relay.relayedIn) },
      { name: 'RabbitMQ subscriptions', value: num(relay.rabbitSubscriptions) },
      { name: 'this node', value: relay.node },
      { name: 'other nodes', value: relay.nodes.length === 0 ? '—' : relay.nodes.join(', ') },
    ] : [];
    fillTable('relay-table', relayRows, [
      { value: (x) => x.name },
      { value: (x) => x.value, className: 'num mono' },
    ], 'No relay: the in-memory broker', (tr, x) => { tr.dataset.testid = 'relay-row'; tr.dataset.name = x.name; });
    setText('user-count', '(' + num(data.users.length) + ')');
    fillTable('users-table', data.users, [
      { value: (x) => x.name, title: (x) => x.name },
      { value: (x) => num(x.sessions), className: 'num' },
      { value: (x) => x.nodes === null ? el('span', 'muted', 'this node') : x.nodes.join(', '), className: 'mono' },
    ], 'No users online', (tr, x) => { tr.dataset.testid = 'user-row'; tr.dataset.user = x.name; });
    fillTable('destinations-table', data.destinations, [
      { value: (x) => x.destination, className: 'mono', title: (x) => x.destination },
      { value: (x) => num(x.subscriptions), className: 'num' },
    ], 'No subscriptions', (tr, x) => { tr.dataset.testid = 'destination-row'; tr.dataset.destination = x.destination; });
    fillTable('queues-table', data.queues, [
      { value: (x) => x.destination, className: 'mono', title: (x) => x.destination },
      { value: (x) => num(x.depth), className: 'num' },
    ], 'No messages held', (tr, x) => { tr.dataset.testid = 'queue-row'; tr.dataset.destination = x.destination; });
    const prefixes = Object.keys(s.messagesIn).map((prefix) => ({
      prefix, messagesIn: s.messagesIn[prefix], bytesIn: s.bytesIn[prefix], messagesOut: s.messagesOut[prefix], bytesOut: s.bytesOut[prefix],
    })).filter((x) => x.messagesIn + x.messagesOut > 0);
    fillTable('prefix-table', prefixes, [
      { value: (x) => x.prefix, className: 'mono' },
      { value: (x) => num(x.messagesIn), className: 'num' },
      { value: (x) => bytes(x.bytesIn), className: 'num' },
      { value: (x) => num(x.messagesOut), className: 'num' },
      { value: (x) => bytes(x.bytesOut), className: 'num' },
    ], 'No traffic yet');
    const problems = Object.keys(s.errorsByCode).map((code) => ({ name: code, count: s.errorsByCode[code] }))
      .concat(Object.keys(s.limitsExceeded).map((limit) => ({ name: 'limit ' + limit, count: s.limitsExceeded[limit] })))
      .sort((a, b) => b.count - a.count);
    fillTable('errors-table', problems, [
      { value: (x) => x.name, className: 'mono' },
      { value: (x) => num(x.count), className: 'num' },
    ], 'No errors');
    drawChart(data);
  }

  function niceMax(value) {
    if (value <= 1) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function drawChart(data) {
    const box = canvas.parentElement;
    const width = box.clientWidth;
    const height = box.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const styles = getComputedStyle(document.documentElement);
    const colors = { in: styles.getPropertyValue('--in').trim(), out: styles.getPropertyValue('--out').trim(), line: '#e8ebf2', text: '#7a8296' };
    const left = 48, right = 12, top = 10, bottom = 24;
    const plotW = Math.max(10, width - left - right);
    const plotH = Math.max(10, height - top - bottom);
    // The last minute, or less while the history is shorter, so a fresh page fills its chart.
    const end = data.at;
    const oldest = data.history.length > 0 ? data.history[0].at : end;
    const windowMs = Math.min(60000, Math.max(20000, Math.ceil((end - oldest) / 20000) * 20000));
    const start = end - windowMs;
    const points = data.history.filter((p) => p.at >= start - 2000);
    setText('chart-span', '· last ' + windowMs / 1000 + ' s, messages/s');
    let peak = 0;
    for (const p of points) peak = Math.max(peak, p.messagesIn, p.messagesOut);
    const max = niceMax(peak * 1.1);
    const x = (at) => left + ((at - start) / windowMs) * plotW;
    const y = (value) => top + plotH - (value / max) * plotH;

    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const value = (max * i) / 4;
      const yy = Math.round(y(value)) + 0.5;
      g.strokeStyle = colors.line;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + plotW, yy); g.stroke();
      g.fillStyle = colors.text;
      g.textAlign = 'right';
      g.fillText(value >= 10 ? String(Math.round(value)) : String(Math.round(value * 100) / 100), left - 6, yy);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (let i = 4; i >= 0; i--) {
      const ago = Math.round((windowMs / 1000) * i / 4);
      g.textAlign = i === 4 ? 'left' : i === 0 ? 'right' : 'center';
      g.fillText(ago === 0 ? 'now' : '-' + ago + 's', x(end - ago * 1000), top + plotH + 6);
    }

    g.save();
    g.beginPath(); g.rect(left, top, plotW, plotH); g.clip();
    for (const key of ['messagesOut', 'messagesIn']) {
      const color = key === 'messagesIn' ? colors.in : colors.out;
      if (points.length === 0) continue;
      g.beginPath();
      points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.at), y(p[key])) : g.lineTo(x(p.at), y(p[key]))));
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.stroke();
      g.lineTo(x(points[points.length - 1].at), y(0));
      g.lineTo(x(points[0].at), y(0));
      g.closePath();
      g.globalAlpha = 0.08;
      g.fillStyle = color;
      g.fill();
      g.globalAlpha = 1;
    }
    g.restore();
    if (points.length === 0) {
      g.fillStyle = colors.text;
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText('collecting samples…', left + plotW / 2, top + plotH / 2);
    }
    canvas.dataset.points = String(points.length);
  }

  function setStatus(state, text) {
    const node = byId('status');
    node.dataset.state = state;
    node.querySelector('.status-text').textContent = text;
  }

  async function poll() {
    try {
      const response = await fetch(dataUrl, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (response.status === 401 || response.status === 403) {
        setStatus('forbidden', 'not authorized');
      } else if (!response.ok) {
        setStatus('offline', 'error ' + response.status);
      } else {
        render(await response.json());
        setStatus('live', 'live');
        setText('updated', 'updated ' + new Date().toLocaleTimeString());
      }
    } catch (err) {
      setStatus('offline', 'unreachable');
    }
    setTimeout(poll, POLL_INTERVAL);
  }

  window.addEventListener('resize', () => { if (lastData) drawChart(lastData); });
  poll();
})();
`;
