// livecap viewer: pick a stream, see its captions live. Plain ES module, no build step.
// Reconnects by itself and resumes from the last caption it saw (subscribe `since`).
import { setupDisplay } from './display.js';
import { LivePlayer, liveVideoToggle } from './live-video.js';

const display = setupDisplay();

const $ = (id) => document.getElementById(id);
const picker = $('stream');
const statusEl = $('status');
const currentEl = $('current');
const metaEl = $('current-meta');
const keyframeEl = $('keyframe');
const historyEl = $('history');

const HISTORY_LIMIT = 100;
const ALERT_LIMIT = 20;
// The selected stream's captioner, as the server names it.
let captionerName = '';
let socket;
let retryMs = 1000;
let selected = new URLSearchParams(location.search).get('stream') || '';
const lastSeq = new Map();

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function timeOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// Live video: on unless the viewer turned it off (kept in the browser).
const liveVideoEl = $('live-video');
const liveStateEl = $('live-video-state');
let player;
let liveVideoWanted = () => true;

function onLiveState(state, detail) {
  liveVideoEl.hidden = state === 'off' || state === 'failed';
  liveStateEl.textContent = state === 'starting' ? 'Starting live video…' : state === 'failed' ? `Live video unavailable${detail ? ` (${detail})` : ''}; showing keyframes.` : '';
}

function playLive(id) {
  if (liveVideoWanted()) player.play(id);
  else player.stop();
}

function showCaption(c, { live }) {
  if ((lastSeq.get(c.stream) ?? 0) >= c.seq) return;
  lastSeq.set(c.stream, c.seq);
  if (c.stream !== selected) return;
  // The previous current caption moves down into the history.
  if (currentEl.dataset.seq) {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = new Date(Number(currentEl.dataset.ts)).toISOString();
    time.textContent = timeOf(Number(currentEl.dataset.ts));
    const img = document.createElement('img');
    img.alt = '';
    if (keyframeEl.src && !keyframeEl.hidden) img.src = keyframeEl.src;
    const text = document.createElement('span');
    text.textContent = currentEl.textContent;
    li.append(time, img, text);
    historyEl.prepend(li);
    while (historyEl.children.length > HISTORY_LIMIT) historyEl.lastElementChild.remove();
  }
  currentEl.dataset.seq = c.seq;
  currentEl.dataset.ts = c.frameTs;
  // A caption of a scene the captioner was never trained on means nothing: say that instead,
  // and only when it changes, so a screen reader is not told the same thing at every keyframe.
  const text = c.outOfDomain ? notRecognised() : c.text;
  if (currentEl.textContent !== text) {
    currentEl.textContent = text;
    if (live) display.readAloud?.say(text);
  }
  currentEl.classList.toggle('unrecognised', Boolean(c.outOfDomain));
  metaEl.textContent = `${timeOf(c.frameTs)} · ${live ? `${c.latencyMs} ms after capture` : 'from history'}`;
  if (c.keyframeUrl) {
    keyframeEl.src = imageUrl(c.keyframeUrl);
    // Say what the image is; the caption beside it is already read from the live region.
    keyframeEl.alt = `Keyframe at ${timeOf(c.frameTs)} from stream ${c.stream}`;
    keyframeEl.hidden = false;
  }
}

function notRecognised() {
  return `Scene not recognised: the captioner${captionerName ? ` “${captionerName}”` : ''} was not trained on pictures like this, so it has no caption for it.`;
}

function setNote(note) {
  const el = $('note');
  el.textContent = note ? `Note: ${note}` : '';
  el.hidden = !note;
}

function showSummary(m) {
  if ((lastSeq.get(m.stream) ?? 0) >= m.seq) return;
  lastSeq.set(m.stream, m.seq);
  if (m.stream !== selected) return;
  $('summary').dataset.seq = m.seq;
  $('summary').textContent = m.text;
  $('summary-meta').textContent = `${timeOf(m.from)} – ${timeOf(m.to)}`;
}

/** The URL of a keyframe for an <img>, which cannot send a header: the token, when there is one, goes in the URL. */
function imageUrl(url) {
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}

// An alert goes into the list; a live one is also put in the banner, which is read out at once.
function showAlert(m, { live }) {
  if ((lastSeq.get(m.stream) ?? 0) >= m.seq) return;
  lastSeq.set(m.stream, m.seq);
  if (m.stream !== selected) return;
  const li = document.createElement('li');
  const time = document.createElement('time');
  time.dateTime = new Date(m.ts).toISOString();
  time.textContent = timeOf(m.ts);
  const img = document.createElement('img');
  img.alt = '';
  if (m.keyframeUrl) img.src = imageUrl(m.keyframeUrl);
  const text = document.createElement('span');
  const rule = document.createElement('strong');
  rule.textContent = m.name;
  text.append(rule, `: ${m.text}`);
  li.append(time, img, text);
  $('alerts').prepend(li);
  while ($('alerts').children.length > ALERT_LIMIT) $('alerts').lastElementChild.remove();
  if (live) {
    const banner = $('alert-now');
    banner.dataset.state = 'active';
    banner.dataset.seq = m.seq;
    banner.textContent = `Alert: ${m.name}: ${m.text} (${timeOf(m.ts)})`;
    display.readAloud?.say(`Alert: ${m.name}. ${m.text}`, { urgent: true });
  }
}

function showEvent(m, options) {
  if (m.type === 'summary') showSummary(m);
  else if (m.type === 'alert') showAlert(m, options);
  else showCaption(m, options);
}

function resetView() {
  delete $('summary').dataset.seq;
  $('summary').textContent = 'No summary yet.';
  $('summary-meta').textContent = '';
  historyEl.replaceChildren();
  $('alerts').replaceChildren();
  $('alert-now').dataset.state = 'none';
  delete $('alert-now').dataset.seq;
  $('alert-now').textContent = 'No alerts since the page opened.';
  delete currentEl.dataset.seq;
  currentEl.textContent = 'Waiting for the first caption…';
  metaEl.textContent = '';
  keyframeEl.hidden = true;
  $('captioner').textContent = '';
  captionerName = '';
  currentEl.classList.remove('unrecognised');
  setNote(undefined);
}

// A server with viewer tokens is opened as /?token=TOKEN; the token goes with every request.
const token = new URLSearchParams(location.search).get('token');
const authHeaders = token ? { authorization: `Bearer ${token}` } : {};

async function loadHistory(id) {
  // History is oldest first and may hold days: ask only for the newest events the page shows.
  const info = await fetch(`/api/streams/${encodeURIComponent(id)}`, { headers: authHeaders });
  if (!info.ok) return;
  const { lastSeq: newest, captioner, summaries, note } = await info.json();
  if (id === selected) {
    captionerName = captioner;
    $('captioner').textContent = `captioned by ${captioner}`;
    setNote(note);
    // Without a summarizer no summary will come: say so rather than wait for one forever.
    if (!summaries && $('summary').dataset.seq === undefined) $('summary').textContent = 'Video captions are off on this server (no summarizer).';
  }
  const since = Math.max(0, newest - HISTORY_LIMIT - 1);
  const res = await fetch(`/api/streams/${encodeURIComponent(id)}/captions?since=${since}&limit=${HISTORY_LIMIT + 1}`, { headers: authHeaders });
  if (!res.ok) return;
  const { captions } = await res.json();
  lastSeq.delete(id);
  for (const c of captions) showEvent(c, { live: false });
}

function fillPicker(streams) {
  const previous = selected;
  picker.replaceChildren(...streams.map((id) => new Option(id, id)));
  if (!streams.includes(previous)) selected = streams[0] || '';
  picker.value = selected;
  if (streams.length === 0) setStatus('stopped', 'No streams');
  return previous !== selected;
}

function linkSubtitles(id) {
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  $('wall-link').href = `/viewer/wall.html${q}`;
  $('vtt').href = `/api/streams/${encodeURIComponent(id)}/captions.vtt${q}`;
  $('srt').href = `/api/streams/${encodeURIComponent(id)}/captions.srt${q}`;
}

/** The snippet's [matched] words as <mark>, built from text nodes (never as HTML). */
function snippetNodes(snippet) {
  return snippet
    .split(/(\[[^\]]*\])/)
    .filter(Boolean)
    .map((part) => {
      if (!/^\[.*\]$/.test(part)) return document.createTextNode(part);
      const mark = document.createElement('mark');
      mark.textContent = part.slice(1, -1);
      return mark;
    });
}

async function search(q) {
  const status = $('search-status');
  const list = $('search-results');
  list.replaceChildren();
  if (!q.trim()) return;
  status.textContent = 'Searching…';
  const res = await fetch(`/api/search?q=${encodeURIComponent(q)}&limit=50`, { headers: authHeaders });
  if (!res.ok) {
    status.textContent = `Search failed: ${(await res.json().catch(() => ({}))).error ?? res.status}`;
    return;
  }
  const { results } = await res.json();
  status.textContent = results.length ? `${results.length} result${results.length === 1 ? '' : 's'}` : 'Nothing found';
  for (const r of results) {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = new Date(r.ts).toISOString();
    time.textContent = `${r.stream} · ${new Date(r.ts).toLocaleString()}${r.type === 'summary' ? ' · summary' : ''}`;
    const text = document.createElement('span');
    text.append(...snippetNodes(r.snippet));
    li.append(time, text);
    list.append(li);
  }
}

async function select(id, ws) {
  if (!id) return;
  const old = selected;
  selected = id;
  linkSubtitles(id);
  if (old && old !== id && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'unsubscribe', streams: [old] }));
  resetView();
  if (old !== id || !player.stream) playLive(id);
  await loadHistory(id);
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'subscribe', streams: [id], since: { [id]: lastSeq.get(id) ?? 0 } }));
  const url = new URL(location.href);
  url.searchParams.set('stream', id);
  history.replaceState(null, '', url);
}

function connect() {
  setStatus('connecting', 'Connecting…');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  socket = ws;
  ws.addEventListener('message', async (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'hello':
        retryMs = 1000;
        fillPicker(msg.streams);
        await select(selected, ws);
        break;
      case 'streams':
        if (fillPicker(msg.streams)) await select(selected, ws);
        break;
      case 'caption':
      case 'summary':
      case 'alert':
        showEvent(msg, { live: true });
        break;
      case 'status':
        if (msg.stream !== selected) break;
        setNote(msg.state === 'live' ? msg.note : undefined);
        if (msg.state === 'live') setStatus('live', 'Live');
        else if (msg.state === 'reconnecting') setStatus('reconnecting', `Reconnecting${msg.error ? `: ${msg.error}` : ''}`);
        else if (msg.state === 'stalled') setStatus('stalled', `Stalled${msg.error ? `: ${msg.error}` : ''}`);
        else setStatus('stopped', `Stopped${msg.error ? `: ${msg.error}` : ''}`);
        break;
      case 'error':
        console.warn('livecap:', msg.code, msg.message);
        break;
    }
  });
  ws.addEventListener('close', (event) => {
    if (socket !== ws) return;
    if (event.code === 4401) {
      // Retrying cannot help without a token.
      setStatus('stopped', token ? 'This token is not accepted' : 'This server needs a token: open the page as /?token=YOUR_TOKEN');
      return;
    }
    setStatus('offline', `Disconnected, retrying in ${Math.round(retryMs / 1000)} s`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

// "Pause announcements": a pressed button turns the caption live regions off, and the choice
// is kept across reloads. Stream status stays announced: it changes rarely and matters.
const pauseButton = $('pause-announcements');
const PAUSE_KEY = 'livecap.announcements';

function setAnnouncementsPaused(paused) {
  pauseButton.setAttribute('aria-pressed', String(paused));
  for (const region of document.querySelectorAll('[data-live]')) region.setAttribute('aria-live', paused ? 'off' : 'polite');
  try {
    if (paused) localStorage.setItem(PAUSE_KEY, 'paused');
    else localStorage.removeItem(PAUSE_KEY);
  } catch {
    // Storage can be off (private mode, policy): the toggle still works for this page.
  }
}

function storedPause() {
  try {
    return localStorage.getItem(PAUSE_KEY) === 'paused';
  } catch {
    return false;
  }
}

setAnnouncementsPaused(storedPause());
pauseButton.addEventListener('click', () => setAnnouncementsPaused(pauseButton.getAttribute('aria-pressed') !== 'true'));

player = new LivePlayer(liveVideoEl, { token, onState: onLiveState });
liveVideoWanted = liveVideoToggle($('live-video-toggle'), 'livecap.liveVideo', true, (on) => playLive(on ? selected : ''));
// Captions above the picture: the display setting moves the video's subtitles too.
const placeCaptions = () => player.setCaptionsAbove(document.documentElement.dataset.captionPosition === 'above');
new MutationObserver(placeCaptions).observe(document.documentElement, { attributes: true, attributeFilter: ['data-caption-position'] });
placeCaptions();

picker.addEventListener('change', () => select(picker.value, socket));
$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  // Its own errors are shown in the results; nothing waits on it.
  void search($('search-q').value);
});
connect();
