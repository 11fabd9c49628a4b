/**
 * The ffmpeg output arguments that turn a stream's video into live HLS for people to watch: a
 * pure function, table-tested. H.264 sources are copied (segments then follow the source's
 * keyframes); anything else is encoded to a small H.264 (at most `maxHeight` lines, a keyframe
 * every segment, no B-frames, so each segment starts cleanly and plays at once). Every segment is
 * stamped with its wall-clock time (EXT-X-PROGRAM-DATE-TIME): with its first PTS
 * (media/mpegts.ts) that ties the video to the times captions carry.
 */
import { join } from 'node:path';

export interface HlsOutputSpec {
  /** Where the playlist (video.m3u8) and its segments (v0.ts, v1.ts…) are written. */
  dir: string;
  /** Target segment length in seconds. */
  segmentSeconds: number;
  /** Segments listed (and kept) at once. */
  listSize: number;
  /** Copy the source's H.264 as it is; false: encode. */
  copy: boolean;
  /** When encoding: the frame rate, the most lines, and the bitrate in kbit/s. */
  fps: number;
  maxHeight: number;
  bitrateKbps: number;
}

export const HLS_DEFAULTS: Omit<HlsOutputSpec, 'dir' | 'copy'> = { segmentSeconds: 1, listSize: 6, fps: 15, maxHeight: 480, bitrateKbps: 600 };

export function hlsOutputArgs(spec: HlsOutputSpec): string[] {
  const video = spec.copy
    ? ['-c:v', 'copy']
    : [
        '-vf',
        `fps=${spec.fps},scale=-2:'min(${spec.maxHeight},ih)',format=yuv420p`,
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-tune',
        'zerolatency',
        '-profile:v',
        'main',
        '-bf',
        '0',
        '-b:v',
        `${spec.bitrateKbps}k`,
        '-maxrate',
        `${Math.round(spec.bitrateKbps * 1.5)}k`,
        '-bufsize',
        `${spec.bitrateKbps * 2}k`,
        '-sc_threshold',
        '0',
        '-force_key_frames',
        `expr:gte(t,n_forced*${spec.segmentSeconds})`,
      ];
  return [
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    ...video,
    '-f',
    'hls',
    '-hls_time',
    String(spec.segmentSeconds),
    '-hls_list_size',
    String(spec.listSize),
    '-hls_flags',
    'delete_segments+program_date_time+independent_segments+temp_file',
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    join(spec.dir, 'v%d.ts'),
    join(spec.dir, 'video.m3u8'),
  ];
}
