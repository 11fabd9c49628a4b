// The wall: every stream's latest picture (its snapshot, refreshed every 2 s) or, with "Live
// video" pressed, its live video with captions; its latest caption, alerts marked on their stream
// and read out once in the banner. For someone watching many cameras at a glance; each tile opens
// the stream's own page.
import { setupDisplay } from './display.js';
import { LivePlayer, liveVideoToggle } from './live-video.js';

const $ = (id) => document.getElementById(id);
const display = setupDisplay();
const token = new URLSearchParams(location.search).get('token');
const q = token ? `?token=${encodeURIComponent(token)}` : '';
const SNAPSHOT_EVERY_MS = 2000;
const tiles = new Map();
let retryMs = 1000;

$('single-link').href = `/${q}`;

function tileFor(id) {
  let tile = tiles.get(id);
  if (tile) return tile;
  const li = document.createElement('li');
  li.className = 'tile';
  const heading = document.createElement('h2');
  const link = document.createElement('a');
  link.href = `/?stream=${encodeURIComponent(id)}${token ? `&token=${encodeURIComponent(token)}` : ''}`;
  link.textContent = id;
  const state = document.createElement('span');
  state.className = 'tile-state';
  heading.append(link, state);
  const img = document.createElement('img');
  img.alt = `Latest picture of stream ${id}`;
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.hidden = true;
  const videoState = document.createElement('p');
  videoState.className = 'live-video-state';
  const caption = document.createElement('p');
  caption.className = 'tile-caption';
  caption.textContent = 'No caption yet';
  const alert = document.createElement('p');
  alert.className = 'tile-alert';
  alert.hidden = true;
  li.append(heading, video, img, videoState, caption, alert);
  $('tiles').append(li);
  tile = { li, img, video, caption, alert, state, loaded: false };
  // The picture stays until the video plays, and comes back if it fails (the server's limit, say).
  tile.player = new LivePlayer(video, {
    token,
    onState: (s, detail) => {
      video.hidden = s !== 'playing';
      img.hidden = s === 'playing';
      videoState.textContent = s === 'failed' ? `Live video unavailable${detail ? ` (${detail})` : ''}` : '';
    },
  });
  if (liveVideoOn()) tile.player.play(id);
  tiles.set(id, tile);
  return tile;
}

// "Live video": off by default (each watched stream is an ffmpeg output on the server), kept in the browser.
const liveVideoOn = liveVideoToggle($('live-video-toggle'), 'livecap.wallLiveVideo', false, (on) => {
  for (const [id, tile] of tiles) {
    if (on) tile.player.play(id);
    else tile.player.stop();
  }
});

function setStreams(ids) {
  for (const [id, tile] of tiles) {
    if (!ids.includes(id)) {
      tile.player.stop();
      tile.li.remove();
      tiles.delete(id);
    }
  }
  for (const id of ids) tileFor(id);
  if (ids.length === 0) $('status').textContent = 'No streams';
}

// A picture that fails to load (no frame yet) keeps its grey box; the next refresh tries again.
function refreshSnapshots() {
  if (document.hidden) return;
  for (const [id, tile] of tiles) {
    if (!tile.video.hidden) continue;
    const url = `/api/streams/${encodeURIComponent(id)}/snapshot.jpg?t=${Date.now()}${token ? `&token=${encodeURIComponent(token)}` : ''}`;
    const next = new Image();
    next.onload = () => {
      tile.img.src = next.src;
    };
    next.src = url;
  }
}

function show(m) {
  const tile = tiles.get(m.stream);
  if (!tile) return;
  if (m.type === 'caption') {
    tile.seq = m.seq;
    tile.caption.textContent = m.outOfDomain ? 'Scene not recognised by its captioner' : m.text;
  } else if (m.type === 'status') tile.state.textContent = m.state === 'live' ? 'live' : m.state;
  else if (m.type === 'alert') {
    tile.li.dataset.alert = 'on';
    tile.alert.hidden = false;
    tile.alert.textContent = `Alert: ${m.name}`;
    const banner = $('alert-now');
    banner.dataset.state = 'active';
    banner.textContent = `Alert on ${m.stream}: ${m.name}: ${m.text}`;
    display.readAloud?.say(`Alert on ${m.stream}: ${m.name}. ${m.text}`, { urgent: true });
    clearTimeout(tile.alertTimer);
    tile.alertTimer = setTimeout(() => {
      delete tile.li.dataset.alert;
      tile.alert.hidden = true;
    }, 60_000);
  }
}

async function latestCaptions(ids) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  for (const id of ids) {
    const info = await fetch(`/api/streams/${encodeURIComponent(id)}`, { headers });
    if (!info.ok) continue;
    const { lastSeq, state } = await info.json();
    show({ type: 'status', stream: id, state });
    const res = await fetch(`/api/streams/${encodeURIComponent(id)}/captions?since=${Math.max(0, lastSeq - 10)}&limit=10`, { headers });
    if (!res.ok) continue;
    const { captions } = await res.json();
    const newest = captions.filter((c) => c.type === 'caption').at(-1);
    // A live caption that came meanwhile is newer: keep it.
    if (newest && tiles.get(id) && (tiles.get(id).seq ?? 0) < newest.seq) show(newest);
  }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${q}`);
  ws.addEventListener('message', (event) => {
    let m;
    try {
      m = JSON.parse(event.data);
    } catch {
      return;
    }
    if (m.type === 'hello' || m.type === 'streams') {
      retryMs = 1000;
      setStreams(m.streams);
      $('status').dataset.state = 'live';
      $('status').textContent = `${m.streams.length} stream${m.streams.length === 1 ? '' : 's'}`;
      // Live events from now on; each stream's newest caption from its history.
      if (m.streams.length) ws.send(JSON.stringify({ type: 'subscribe', streams: m.streams }));
      void latestCaptions(m.streams);
      refreshSnapshots();
    } else show(m);
  });
  ws.addEventListener('close', (event) => {
    $('status').dataset.state = 'offline';
    if (event.code === 4401) {
      $('status').textContent = token ? 'This token is not accepted' : 'This server needs a token: open the page with ?token=YOUR_TOKEN';
      return;
    }
    $('status').textContent = `Disconnected, retrying in ${Math.round(retryMs / 1000)} s`;
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

setInterval(refreshSnapshots, SNAPSHOT_EVERY_MS);
document.addEventListener('visibilitychange', refreshSnapshots);
connect();
