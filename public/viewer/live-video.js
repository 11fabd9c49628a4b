// Live video with its captions: the stream's HLS (/api/streams/ID/live/index.m3u8) played by
// hls.js (served by livecap as /viewer/vendor/hls.min.js, a classic script that defines Hls), or
// natively where the browser plays HLS itself (Safari). The captions are the browser's own text
// track: its renderer draws them on the picture, as with any subtitled video, and the display
// settings (size, contrast, position) reach them through ::cue and each cue's line.

/** The live video of one <video>, switched from stream to stream. */
export class LivePlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{ token?: string | null, onState?: (state: 'off' | 'starting' | 'playing' | 'failed', detail?: string) => void }} options
   */
  constructor(video, options = {}) {
    this.video = video;
    this.token = options.token ?? null;
    this.onState = options.onState ?? (() => {});
    this.hls = undefined;
    this.stream = '';
    this.captionsAbove = false;
    video.textTracks.addEventListener('addtrack', (e) => this.#showCaptions(e.track));
  }

  /** Plays a stream's live video; '' stops. */
  play(stream) {
    this.stop();
    this.stream = stream;
    if (!stream) return;
    const q = this.token ? `?token=${encodeURIComponent(this.token)}` : '';
    const url = `/api/streams/${encodeURIComponent(stream)}/live/index.m3u8${q}`;
    this.video.setAttribute('aria-label', `Live video of stream ${stream}, with its captions as subtitles`);
    this.onState('starting');
    const Hls = globalThis.Hls;
    if (Hls?.isSupported()) {
      // No worker: the page's content security policy allows scripts from this server only.
      const hls = new Hls({ enableWorker: false, liveSyncDurationCount: 2, subtitleDisplay: true, renderTextTracksNatively: true, manifestLoadingMaxRetry: 4 });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        // The captions rendition (the first) is shown; descriptions stay off unless chosen.
        hls.subtitleTrack = 0;
        hls.subtitleDisplay = true;
        this.video.play().catch(() => {});
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) {
          this.#teardown();
          this.stream = '';
          this.onState('failed', data.response?.code ? `the server answered ${data.response.code}` : data.details);
        }
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = url;
      this.video.play().catch(() => {});
    } else {
      this.onState('failed', 'this browser cannot play HLS');
      return;
    }
    this.video.onplaying = () => this.onState('playing');
  }

  stop() {
    this.#teardown();
    if (this.stream) this.onState('off');
    this.stream = '';
  }

  #teardown() {
    this.hls?.destroy();
    this.hls = undefined;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    this.video.onplaying = null;
  }

  /** Captions above the picture (true) or at the bottom, as the display settings say. */
  setCaptionsAbove(above) {
    this.captionsAbove = above;
    for (const track of this.video.textTracks) for (const cue of track.cues ?? []) this.#place(cue);
  }

  #showCaptions(track) {
    if (track.kind !== 'subtitles' && track.kind !== 'captions') return;
    // hls.js labels the renditions by their NAME: Captions, Descriptions.
    if (/caption/i.test(track.label)) track.mode = 'showing';
    track.addEventListener('cuechange', () => {
      for (const cue of track.activeCues ?? []) this.#place(cue);
    });
  }

  #place(cue) {
    if ('line' in cue) cue.line = this.captionsAbove ? 0 : 'auto';
  }
}

/**
 * A "Live video" toggle button (aria-pressed), its choice kept in the browser under `key`;
 * `onChange(on)` hears each press. Returns whether it is on now.
 */
export function liveVideoToggle(button, key, defaultOn, onChange) {
  const stored = () => {
    try {
      const value = localStorage.getItem(key);
      return value === null ? defaultOn : value === 'on';
    } catch {
      return defaultOn;
    }
  };
  button.setAttribute('aria-pressed', String(stored()));
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    try {
      localStorage.setItem(key, on ? 'on' : 'off');
    } catch {
      // Storage can be off: the toggle still works for this page.
    }
    onChange(on);
  });
  return () => button.getAttribute('aria-pressed') === 'true';
}
