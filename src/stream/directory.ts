/**
 * What the API, the WebSocket hub, SSE and /metrics need from "the streams": the single server's
 * StreamManager (streams.ts) and a cluster web node's ClusterStreams (cluster-streams.ts) both
 * provide it. Changes may be asynchronous (in a cluster they go through Redis); reads are
 * immediate, from what the node holds.
 */
import type { SequencedMessage, StatusMessage } from '../core/events.js';
import type { HistoryStore } from '../store/history-store.js';
import type { StreamRequest } from './api-schemas.js';
import type { PendingReplay, ReplayLimits } from './replay.js';
import type { Source } from '../ingest/source.js';
import type { PipelineCounters } from '../pipeline/stream-pipeline.js';
import type { StreamState } from '../core/events.js';
import type { RawFrame } from '../ingest/ffmpeg-frames.js';

import type { LiveVideo } from './live-video.js';

export interface StreamDirectory {
  /** The history this node reads from: its own (single server) or its copy of the cluster's. */
  readonly store: HistoryStore;
  readonly historyWrites: HistoryWriteStats;
  list(): StreamInfo[];
  get(id: string): StreamInfo | undefined;
  has(id: string): boolean;
  /** Adds and saves a stream from a user's request; throws StreamConflictError, StreamInputError… (streams.ts). */
  create(request: StreamRequest): StreamInfo | Promise<StreamInfo>;
  /** Removes a stream for good; false if there was none. */
  forget(id: string): boolean | Promise<boolean>;
  history(id: string, since?: number, limit?: number): SequencedMessage[];
  replay(id: string, since: number, limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>, allowance?: { events: number; bytes: number }, stop?: () => boolean): PendingReplay;
  status(id: string): StatusMessage | undefined;
  degraded(): { stream: string; reason: string }[];
  /** A caption's keyframe JPEG while the caption is kept. */
  keyframe(id: string, seq: number): Buffer | undefined | Promise<Buffer | undefined>;
  /** The last frame analysed of a stream this node runs (its snapshot); absent where streams run elsewhere. */
  latestFrame?(id: string): RawFrame | undefined;
  /** A stream's live video (HLS while watched); absent where streams run elsewhere. */
  liveVideo?(id: string): LiveVideo | undefined;
}

export interface StreamInfo {
  id: string;
  /** The source URL with any password replaced. */
  url: string;
  kind: Source['kind'];
  /** `unassigned`: in a cluster, no worker runs it now. */
  state: StreamState | 'connecting' | 'unassigned';
  /** In a cluster: the worker running it, or null. */
  node?: string | null;
  error?: string;
  /** Advice while live: its captioner does not recognise its scenes, and how to bring a real model. */
  note?: string;
  lastSeq: number;
  counters: PipelineCounters;
  /** Which captioner captions this stream (its spec, as `livecap serve --captioner` names it). */
  captioner: string;
  /** The stream's own prompt for its captioner (a Florence-2 task, a model server's prompt), when it has one. */
  prompt?: string;
  /** Whether video captions (summaries) are made for this stream (false: the server has no summarizer). */
  summaries: boolean;
  /** Why the stream works less well than it should (history not being written), while it lasts. */
  degraded?: string;
  /** True for a stream added over the API: it is saved and comes back after a restart. */
  saved?: boolean;
}

/** History write failures since the server started, over all streams. */
export interface HistoryWriteStats {
  /** Events whose write failed. */
  failures: number;
  /** Of those, events not sent at all, because not even their seq could be recorded. */
  heldBack: number;
}
