/**
 * Just enough of MPEG-TS (ISO/IEC 13818-1) to read when a segment starts: the presentation
 * timestamp of its first video PES packet, in 90 kHz units. An HLS subtitle segment's
 * X-TIMESTAMP-MAP names the video's PTS at a moment of its cues, and a video segment's first PTS,
 * with its EXT-X-PROGRAM-DATE-TIME, ties the stream's PTS to the wall clock captions carry.
 */

const PACKET = 188;
const SYNC = 0x47;

/** The first video PTS in a transport stream (90 kHz ticks), or undefined if it has none. */
export function firstVideoPts(ts: Uint8Array): number | undefined {
  for (let at = ts.indexOf(SYNC); at >= 0 && at + PACKET <= ts.length; at += PACKET) {
    if (ts[at] !== SYNC) return undefined;
    const unitStart = (ts[at + 1]! & 0x40) !== 0;
    const adaptation = (ts[at + 3]! >> 4) & 0x3;
    if (!unitStart || (adaptation & 0x1) === 0) continue;
    let p = at + 4 + (adaptation === 0x3 ? 1 + ts[at + 4]! : 0);
    // A PES packet: start code 00 00 01, then a video stream id (0xE0-0xEF).
    if (p + 14 > at + PACKET || ts[p] !== 0 || ts[p + 1] !== 0 || ts[p + 2] !== 1) continue;
    const streamId = ts[p + 3]!;
    if (streamId < 0xe0 || streamId > 0xef) continue;
    const hasPts = (ts[p + 7]! & 0x80) !== 0;
    if (!hasPts) continue;
    p += 9;
    // 33 bits over 5 bytes, with marker bits between; past 2^31, so no bitwise operators on the whole.
    const high = (ts[p]! >> 1) & 0x07;
    const middle = (ts[p + 1]! << 7) | (ts[p + 2]! >> 1);
    const low = (ts[p + 3]! << 7) | (ts[p + 4]! >> 1);
    return high * 2 ** 30 + middle * 2 ** 15 + low;
  }
  return undefined;
}
