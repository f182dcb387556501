/*
 * The chat page: plain JavaScript on the @stomp/stompjs UMD bundle (global StompJs). STOMP over
 * WebSocket at /ws; over SockJS at /sockjs (the sockjs-client bundle, global SockJS, picks the best
 * transport it can: websocket, xhr-streaming, eventsource, xhr-polling ...) when the browser has no
 * WebSocket or the page was opened with ?transport=sockjs.
 */
(function () {
  'use strict';

  var ROOM = /^[a-z0-9-]{1,32}$/;
  var JSON_HEADERS = { 'content-type': 'application/json' };

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    status: $('status'),
    joinForm: $('join-form'),
    name: $('name'),
    room: $('room'),
    online: $('online'),
    onlineCount: document.querySelector('[data-testid="online-count"]'),
    roomTitle: $('room-title'),
    messages: $('messages'),
    error: $('error'),
    composer: $('composer'),
    target: $('target'),
    clearDm: $('clear-dm'),
    text: $('text'),
    send: document.querySelector('[data-testid="send"]'),
  };

  var state = {
    client: null,
    name: '',
    login: '',
    room: '',
    roomSubs: [],
    dmTo: null,
    seen: new Set(),
    errorTimer: 0,
  };

  // ---- helpers -------------------------------------------------------------------------------

  function randomName() {
    var adjectives = ['brisk', 'calm', 'eager', 'fuzzy', 'jolly', 'keen', 'lucky', 'merry', 'quiet', 'swift', 'witty', 'zesty'];
    var animals = ['otter', 'heron', 'lynx', 'panda', 'fox', 'koala', 'puffin', 'yak', 'gecko', 'owl', 'seal', 'wren'];
    var pick = function (list) { return list[Math.floor(Math.random() * list.length)]; };
    return pick(adjectives) + '-' + pick(animals) + '-' + Math.floor(10 + Math.random() * 90);
  }

  function parse(message) {
    try {
      return JSON.parse(message.body);
    } catch (e) {
      return undefined;
    }
  }

  function time(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** SockJS when asked for (?transport=sockjs) or when the browser has no WebSocket. */
  function useSockJs() {
    return new URLSearchParams(location.search).get('transport') === 'sockjs' || typeof window.WebSocket !== 'function';
  }

  /** 'over WebSocket', or 'over SockJS (xhr-streaming)' with the transport SockJS settled on. */
  function transportOf(client) {
    var socket = client.webSocket;
    if (socket && typeof socket.transport === 'string') return 'over SockJS (' + socket.transport + ')';
    return 'over WebSocket';
  }

  function setStatus(text, stateName) {
    ui.status.textContent = text;
    ui.status.dataset.state = stateName;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
    clearTimeout(state.errorTimer);
    state.errorTimer = setTimeout(function () { ui.error.hidden = true; }, 6000);
  }

  function setComposerEnabled(enabled) {
    ui.text.disabled = !enabled;
    ui.send.disabled = !enabled;
  }

  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  // ---- rendering -----------------------------------------------------------------------------

  /** A room message, a DM or an announcement as a list item; `before` inserts it there (history). */
  function renderMessage(kind, m, before) {
    if (!m || typeof m.text !== 'string' || typeof m.from !== 'string') return;
    if (m.id) {
      if (state.seen.has(m.id)) return;
      state.seen.add(m.id);
    }
    var li = el('li', 'message ' + kind);
    li.dataset.testid = kind === 'dm' ? 'dm' : 'message';
    li.dataset.from = m.from;
    var meta = el('div', 'meta');
    if (kind === 'dm') {
      var mine = m.from === state.name;
      meta.appendChild(el('span', 'badge', 'direct'));
      meta.appendChild(el('strong', 'from', mine ? 'you → ' + m.to : m.from + ' → you'));
      li.dataset.to = m.to;
      if (mine) li.classList.add('mine');
    } else if (m.announcement) {
      meta.appendChild(el('span', 'badge', 'announcement'));
    } else {
      meta.appendChild(el('strong', 'from', m.from));
      if (m.from === state.name) li.classList.add('mine');
    }
    var when = el('time', 'at', time(m.at));
    if (m.at) when.dateTime = m.at;
    meta.appendChild(when);
    li.appendChild(meta);
    li.appendChild(el('p', 'text', m.text));
    if (before) ui.messages.insertBefore(li, before);
    else ui.messages.appendChild(li);
    scrollToEnd();
  }

  function renderPresence(presence) {
    if (!presence || !Array.isArray(presence.users)) return;
    ui.online.replaceChildren();
    presence.users.forEach(function (name) {
      if (typeof name !== 'string') return;
      var li = el('li');
      var button = el('button', 'person');
      button.type = 'button';
      button.dataset.testid = 'user';
      button.dataset.user = name;
      button.appendChild(el('span', 'dot'));
      button.appendChild(el('span', 'who', name));
      if (name === state.name) {
        button.appendChild(el('span', 'you', 'you'));
        button.disabled = true;
      } else {
        button.setAttribute('aria-label', 'Send a direct message to ' + name);
        button.addEventListener('click', function () { startDm(name); });
      }
      if (name === state.dmTo) button.setAttribute('aria-pressed', 'true');
      li.appendChild(button);
      ui.online.appendChild(li);
    });
    ui.onlineCount.textContent = String(presence.users.length);
    if (state.dmTo && presence.users.indexOf(state.dmTo) === -1) {
      showError(state.dmTo + ' went offline');
      endDm();
    }
  }

  function renderTarget() {
    if (state.dmTo) {
      ui.target.textContent = '@' + state.dmTo;
      ui.target.dataset.mode = 'dm';
      ui.clearDm.hidden = false;
      ui.text.placeholder = 'Direct message to ' + state.dmTo + '…';
    } else {
      ui.target.textContent = '#' + (state.room || ui.room.value);
      ui.target.dataset.mode = 'room';
      ui.clearDm.hidden = true;
      ui.text.placeholder = 'Message #' + (state.room || ui.room.value) + '…';
    }
    ui.online.querySelectorAll('[data-user]').forEach(function (b) {
      if (b.dataset.user === state.dmTo) b.setAttribute('aria-pressed', 'true');
      else b.removeAttribute('aria-pressed');
    });
  }

  function startDm(name) {
    state.dmTo = name;
    renderTarget();
    ui.text.focus();
  }

  function endDm() {
    state.dmTo = null;
    renderTarget();
  }

  // ---- STOMP ---------------------------------------------------------------------------------

  function subscribe(destination, onMessage) {
    return state.client.subscribe(destination, onMessage);
  }

  function enterRoom(room) {
    state.roomSubs.forEach(function (s) { s.unsubscribe(); });
    state.roomSubs = [];
    state.room = room;
    state.seen.clear();
    ui.messages.replaceChildren();
    ui.roomTitle.textContent = '#' + room;
    renderTarget();
    // Live messages first, then the history: a message in both is shown once (by id).
    state.roomSubs.push(subscribe('/topic/chat/' + room, function (m) { renderMessage('room', parse(m)); }));
    state.roomSubs.push(
      subscribe('/app/chat/' + room + '/history', function (m) {
        var list = parse(m);
        if (!Array.isArray(list)) return;
        var first = ui.messages.firstChild;
        list.forEach(function (entry) { renderMessage('room', entry, first); });
        scrollToEnd();
      }),
    );
  }

  function connect(name, room) {
    if (state.client) state.client.deactivate();
    state.name = name;
    state.login = name;
    state.room = '';
    state.dmTo = null;
    setComposerEnabled(false);
    setStatus('Connecting…', 'connecting');
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var sockjs = useSockJs();
    var client = new StompJs.Client({
      brokerURL: sockjs ? undefined : scheme + location.host + '/ws',
      webSocketFactory: sockjs ? function () { return new SockJS(location.origin + '/sockjs'); } : undefined,
      connectHeaders: { login: name },
      reconnectDelay: 2000,
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
    });
    state.client = client;
    client.onConnect = function () {
      if (state.client !== client) return;
      setStatus('Connected as ' + name + ' ' + transportOf(client), 'online');
      subscribe('/user/queue/errors', function (m) { showError(m.headers.message || m.body || 'refused'); });
      subscribe('/user/queue/dm', function (m) { renderMessage('dm', parse(m)); });
      subscribe('/topic/presence', function (m) { renderPresence(parse(m)); });
      subscribe('/app/presence', function (m) { renderPresence(parse(m)); });
      enterRoom(room);
      setComposerEnabled(true);
      ui.text.focus();
    };
    client.onStompError = function (frame) {
      showError(frame.headers.message || 'the server refused the connection');
    };
    client.onWebSocketClose = function () {
      if (state.client !== client) return;
      setStatus('Disconnected — reconnecting…', 'offline');
      setComposerEnabled(false);
    };
    client.activate();
  }

  // ---- forms ---------------------------------------------------------------------------------

  ui.joinForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var name = ui.name.value.trim();
    var room = ui.room.value.trim().toLowerCase();
    if (!name) return showError('Pick a name first');
    if (!ROOM.test(room)) return showError('Room names are 1 to 32 of a-z, 0-9 and -');
    ui.room.value = room;
    if (state.client && state.client.connected && name === state.login) {
      if (room !== state.room) enterRoom(room);
      return;
    }
    connect(name, room);
  });

  ui.composer.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = ui.text.value;
    if (!text.trim() || !state.client || !state.client.connected) return;
    if (state.dmTo) {
      state.client.publish({ destination: '/app/dm', body: JSON.stringify({ to: state.dmTo, text: text }), headers: JSON_HEADERS });
    } else {
      state.client.publish({ destination: '/app/chat/' + state.room, body: JSON.stringify({ text: text }), headers: JSON_HEADERS });
    }
    ui.text.value = '';
    ui.text.focus();
  });

  ui.clearDm.addEventListener('click', endDm);
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && state.dmTo) endDm();
  });

  ui.name.value = randomName();
  renderTarget();
})();
