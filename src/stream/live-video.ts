/**
 * A stream's live video as HLS, made only while someone watches it.
 *
 * The first request for a stream's playlist asks the stream's own ffmpeg (the one that decodes
 * it for analysis) for a second output, an HLS video (ingest/hls-output-args.ts: the source's
 * H.264 copied when browsers play it as it is, a small H.264 encode otherwise), and waits for
 * the first segment. One process serves both: the picture is the very one analysed (a second
 * process would show a looped file from its start, and cannot open a webcam the first holds),
 * and the source is decoded once (bench/live-video.ts measures both ways). Every request counts
 * as a watcher; once none has come for `idleSeconds`, ffmpeg goes back to analysis alone and
 * the segments are deleted.
 *
 * Subtitles follow the video playlist (stream/hls-playlists.ts): captions and summaries from
 * the stream's history, cut per segment, each segment listed once its captions have had
 * `captionHoldMs` to be made (players fetch ahead of what they show, so the picture does not
 * wait for it).
 */
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HLS_DEFAULTS, type HlsOutputSpec, hlsOutputArgs } from '../ingest/hls-output-args.js';
import { browserPlayable, type VideoDescription } from '../ingest/probe-video.js';
import { firstVideoPts } from '../media/mpegts.js';
import { log } from '../util/log.js';
import { multivariantPlaylist, parseVideoPlaylist, type SubtitleTrack, subtitlePlaylist, type VideoPlaylist, videoPlaylist, vttSegment } from './hls-playlists.js';
import { type Cue, cues } from './subtitles.js';

export interface LiveVideoOptions {
  /** Live video stops this long after the last request for it. */
  idleSeconds: number;
  /** How long a first request waits for the first segment. */
  startTimeoutMs: number;
  /** A subtitle segment is listed (and answered) no sooner than this long after its video segment ends: time for its captions to be made. */
  captionHoldMs: number;
  hls: Omit<HlsOutputSpec, 'dir' | 'copy'>;
  /** Where each watched stream's segments are written (a folder of its own inside). */
  dir: string;
  /** At most this many streams make live video at once (each is an ffmpeg output, an encode for non-H.264 sources). */
  maxStreams: number;
}

export const LIVE_VIDEO_DEFAULTS: LiveVideoOptions = { idleSeconds: 20, startTimeoutMs: 20_000, captionHoldMs: 2000, hls: HLS_DEFAULTS, dir: tmpdir(), maxStreams: 16 };

/** What live video needs from its stream. */
export interface LiveVideoHost {
  stream: string;
  /** Sets ffmpeg's extra outputs ([]: analysis alone); ffmpeg restarts with them. */
  setOutputs(args: readonly string[]): void;
  /** What the source's video is (undefined: not known, so it is encoded). */
  probe(): Promise<VideoDescription | undefined>;
  /** Captions with frame times in about [from, to] (ms since the epoch), oldest first. */
  captions(from: number, to: number): { frameTs: number; text: string; outOfDomain?: boolean }[];
  /** Summaries made in [from, to], oldest first. */
  summaries(from: number, to: number): { ts: number; text: string }[];
  /** Why the stream shows no video now (connecting, reconnecting: its error), or undefined while it is live. */
  notLive(): string | undefined;
  /** Whether another stream's live video may start now (the server's limit), or why not. */
  refusal(): string | undefined;
}

/** Live video cannot be served now; `status` is the HTTP answer (503 with a reason). */
export class LiveVideoError extends Error {
  override name = 'LiveVideoError';
  constructor(
    message: string,
    readonly status: 404 | 503,
  ) {
    super(message);
  }
}

const SEGMENT_FILE = /^v\d+\.ts$/;

export class LiveVideo {
  private dir: string | undefined;
  private starting: Promise<void> | undefined;
  private lastRequest = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private video: VideoDescription | undefined;
  private copy = false;
  /** Cue times count from here: when this watching began. */
  private base = 0;
  /** Each segment's first PTS and discontinuity sequence, as read. */
  private readonly firstPts = new Map<number, number>();
  private readonly discontinuityOf = new Map<number, number>();
  private lastError: { message: string; at: number } | undefined;
  private closed = false;

  constructor(
    private readonly host: LiveVideoHost,
    private readonly options: LiveVideoOptions = LIVE_VIDEO_DEFAULTS,
  ) {}

  /** Whether live video is running or starting (what the server's limit counts). */
  get running(): boolean {
    return this.dir !== undefined || this.starting !== undefined;
  }

  /** A request for live video: starts it if it is not running, and waits for its first segment. */
  async watch(): Promise<void> {
    if (this.closed) throw new LiveVideoError(`stream '${this.host.stream}' has stopped`, 404);
    this.lastRequest = Date.now();
    if (!this.starting) {
      // Starting restarts the stream's ffmpeg: not for a stream with no video, nor again at once after a failure.
      const notLive = this.host.notLive();
      if (notLive) throw new LiveVideoError(`stream '${this.host.stream}' has no live video now: ${notLive}`, 503);
      const refusal = this.host.refusal();
      if (refusal) throw new LiveVideoError(`live video of stream '${this.host.stream}' cannot start: ${refusal}`, 503);
      const failure = this.recentFailure();
      if (failure) throw new LiveVideoError(`live video of stream '${this.host.stream}': ${failure}; trying again a minute after`, 503);
    }
    this.starting ??= this.start();
    await this.starting;
  }

  private async start(): Promise<void> {
    try {
      this.video ??= await this.host.probe();
      this.copy = this.video !== undefined && browserPlayable(this.video);
      const dir = await mkdtemp(join(this.options.dir, `livecap-live-${this.host.stream}-`));
      if (this.closed) {
        await rm(dir, { recursive: true, force: true });
        throw new LiveVideoError(`stream '${this.host.stream}' has stopped`, 404);
      }
      this.dir = dir;
      this.base = Date.now();
      this.firstPts.clear();
      this.discontinuityOf.clear();
      this.host.setOutputs(hlsOutputArgs({ ...this.options.hls, dir, copy: this.copy }));
      this.idleTimer = setInterval(() => {
        if (Date.now() - this.lastRequest > this.options.idleSeconds * 1000) void this.stop('nobody watches');
      }, 1000);
      this.idleTimer.unref();
      const started = Date.now();
      const deadline = started + this.options.startTimeoutMs;
      while ((await this.playlist()).segments.length === 0) {
        if (this.dir !== dir) throw new LiveVideoError(`live video of stream '${this.host.stream}' stopped while starting`, 503);
        if (Date.now() > deadline) {
          const reason = `no video within ${this.options.startTimeoutMs / 1000} s of starting (is the stream live?)`;
          this.lastError = { message: reason, at: Date.now() };
          await this.stop(reason);
          throw new LiveVideoError(`live video of stream '${this.host.stream}': ${reason}`, 503);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const source = this.video && `${this.video.codec} ${this.video.pixelFormat} ${this.video.width}x${this.video.height}`;
      log.info('live video started', { stream: this.host.stream, video: this.copy ? 'copied' : 'encoded', source, firstSegmentMs: Date.now() - started });
    } catch (err) {
      this.starting = undefined;
      throw err;
    }
  }

  /** Back to analysis alone; the segments are deleted once ffmpeg has let go of them (`now`: at once). */
  async stop(why: string, now = false): Promise<void> {
    const dir = this.dir;
    clearInterval(this.idleTimer);
    this.dir = undefined;
    this.starting = undefined;
    if (!dir) return;
    this.host.setOutputs([]);
    log.info('live video stopped', { stream: this.host.stream, why });
    // ffmpeg writes its last playlist as it stops; give it a moment before the folder goes.
    if (!now) await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    // ffmpeg may still write a file while it exits: try again (ENOTEMPTY), and never throw from here.
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch((err: Error) =>
      log.warn('live video: could not delete its segments', { stream: this.host.stream, dir, error: err.message }),
    );
  }

  /** The stream is gone: stop for good. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop('the stream stopped', true);
  }

  /**
   * The stream's ffmpeg failed while making live video. A failure before any segment was made
   * may be live video's own (a folder it cannot write): analysis goes on without it, and
   * requests are told why for a minute.
   */
  sourceFailed(error: string): void {
    if (!this.dir || this.firstPts.size > 0) return;
    this.lastError = { message: `ffmpeg failed while starting live video: ${error}`, at: Date.now() };
    void this.stop('ffmpeg failed');
  }

  /** Why live video cannot be served, if it failed in the last minute. */
  private recentFailure(): string | undefined {
    return this.lastError && Date.now() - this.lastError.at < 60_000 ? this.lastError.message : undefined;
  }

  /** ffmpeg's video playlist as it is now (no segments while it has written none). */
  private async playlist(): Promise<VideoPlaylist> {
    const dir = this.dir;
    if (!dir) throw new LiveVideoError(this.recentFailure() ?? `live video of stream '${this.host.stream}' is not running`, 503);
    let text = '';
    try {
      text = await readFile(join(dir, 'video.m3u8'), 'utf8');
    } catch {
      // Not written yet.
    }
    const playlist = parseVideoPlaylist(text);
    // ffmpeg writes no discontinuity sequence: count the discontinuities seen, segment by segment.
    let previous = this.discontinuityOf.get(playlist.mediaSequence - 1) ?? Math.max(0, ...this.discontinuityOf.values());
    for (const s of playlist.segments) {
      let known = this.discontinuityOf.get(s.sequence);
      if (known === undefined) {
        known = previous + (s.discontinuity ? 1 : 0);
        this.discontinuityOf.set(s.sequence, known);
      }
      previous = known;
    }
    for (const sequence of this.discontinuityOf.keys()) if (sequence < playlist.mediaSequence - 16) this.discontinuityOf.delete(sequence);
    const first = playlist.segments[0];
    if (first) playlist.discontinuitySequence = this.discontinuityOf.get(first.sequence)! - (first.discontinuity ? 1 : 0);
    return playlist;
  }

  /** The multivariant playlist (`index.m3u8`). */
  async index(query: string): Promise<string> {
    await this.watch();
    const playlist = await this.playlist();
    const dir = this.dir!;
    let peak = 0;
    for (const s of playlist.segments) {
      const size = await stat(join(dir, s.uri)).then(
        (st) => st.size,
        () => 0,
      );
      if (s.seconds > 0.2) peak = Math.max(peak, (size * 8) / s.seconds);
    }
    const h = this.options.hls;
    const resolution =
      this.video &&
      (this.copy ? this.video : { width: 2 * Math.round((this.video.width * Math.min(h.maxHeight, this.video.height)) / this.video.height / 2), height: Math.min(h.maxHeight, this.video.height) });
    return multivariantPlaylist({ bandwidth: peak || h.bitrateKbps * 1500, ...(resolution && { resolution: { width: resolution.width, height: resolution.height } }) }, query);
  }

  /** The video playlist (`video.m3u8`). */
  async videoPlaylist(query: string): Promise<string> {
    await this.watch();
    return videoPlaylist(await this.playlist(), query);
  }

  /** A subtitle playlist (`captions.m3u8`, `descriptions.m3u8`). */
  async subtitlePlaylist(track: SubtitleTrack, query: string): Promise<string> {
    await this.watch();
    return subtitlePlaylist(await this.playlist(), track, query, Date.now(), this.options.captionHoldMs);
  }

  /** A video segment (`vN.ts`). */
  async segment(file: string): Promise<Buffer> {
    await this.watch();
    if (!SEGMENT_FILE.test(file)) throw new LiveVideoError(`no segment '${file}'`, 404);
    try {
      return await readFile(join(this.dir!, file));
    } catch {
      throw new LiveVideoError(`segment '${file}' of stream '${this.host.stream}' is no longer kept (live video keeps the last ${this.options.hls.listSize})`, 404);
    }
  }

  /** A WebVTT segment (`captions/N.vtt`, `descriptions/N.vtt`). */
  async vtt(track: SubtitleTrack, sequence: number): Promise<string> {
    await this.watch();
    const segment = (await this.playlist()).segments.find((s) => s.sequence === sequence);
    if (!segment) throw new LiveVideoError(`segment ${sequence} of stream '${this.host.stream}' is not in its live playlist`, 404);
    const pts = await this.ptsOf(segment.sequence, segment.uri);
    if (pts === undefined) throw new LiveVideoError(`segment ${sequence} of stream '${this.host.stream}' is no longer kept`, 404);
    // Listed only once ready (subtitlePlaylist); a player that asks sooner gets it once it is.
    const ready = segment.wallMs + segment.seconds * 1000 + this.options.captionHoldMs - Date.now();
    if (ready > 0) await new Promise((resolve) => setTimeout(resolve, ready));
    // Cues reaching into the segment began at most a cue's length before it; the one after it ends them.
    const from = segment.wallMs - 15_000;
    let list: Cue[];
    if (track === 'captions') list = cues(this.host.captions(from, Date.now()), this.base);
    else
      list = cues(
        this.host.summaries(from, Date.now()).map((s) => ({ frameTs: s.ts, text: s.text })),
        this.base,
      );
    return vttSegment(list, { ...segment, pts }, this.base);
  }

  private async ptsOf(sequence: number, uri: string): Promise<number | undefined> {
    const known = this.firstPts.get(sequence);
    if (known !== undefined) return known;
    if (!this.dir || !SEGMENT_FILE.test(uri)) return undefined;
    try {
      const file = await open(join(this.dir, uri));
      try {
        // The first video PES is at the start: a few packets in.
        const { buffer, bytesRead } = await file.read(Buffer.alloc(188 * 64), 0, 188 * 64, 0);
        const pts = firstVideoPts(buffer.subarray(0, bytesRead));
        if (pts !== undefined) this.firstPts.set(sequence, pts);
        for (const s of this.firstPts.keys()) if (s < sequence - 64) this.firstPts.delete(s);
        return pts;
      } finally {
        await file.close();
      }
    } catch {
      return undefined;
    }
  }
}
