/** The HLS output arguments, as a table: copy for H.264 sources, a small H.264 encode otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HLS_DEFAULTS, hlsOutputArgs } from '../../src/ingest/hls-output-args.js';

const MUXER = [
  '-f',
  'hls',
  '-hls_time',
  '1',
  '-hls_list_size',
  '6',
  '-hls_flags',
  'delete_segments+program_date_time+independent_segments+temp_file',
  '-hls_segment_type',
  'mpegts',
  '-hls_segment_filename',
  '/run/hls/cam/v%d.ts',
  '/run/hls/cam/video.m3u8',
];

const CASES: [string, Parameters<typeof hlsOutputArgs>[0], string[]][] = [
  ['an H.264 source is copied', { ...HLS_DEFAULTS, dir: '/run/hls/cam', copy: true }, ['-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', ...MUXER]],
  [
    'anything else is encoded: a keyframe every segment, no B-frames, at most 480 lines',
    { ...HLS_DEFAULTS, dir: '/run/hls/cam', copy: false },
    [
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      "fps=15,scale=-2:'min(480,ih)',format=yuv420p",
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
      '600k',
      '-maxrate',
      '900k',
      '-bufsize',
      '1200k',
      '-sc_threshold',
      '0',
      '-force_key_frames',
      'expr:gte(t,n_forced*1)',
      ...MUXER,
    ],
  ],
];

for (const [name, spec, expected] of CASES) test(name, () => assert.deepEqual(hlsOutputArgs(spec), expected));
