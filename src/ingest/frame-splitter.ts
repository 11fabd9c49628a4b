/**
 * Cuts a byte stream of packed raw frames into whole frames, whatever the chunk boundaries.
 * Every frame is its own exact-size copy: chunks from a child process are Buffers, whose
 * slice() is a view that shares (and could be detached with) the chunk's memory.
 */
export class FrameSplitter {
  private pending: Uint8Array | undefined;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new Error(`frame size must be a positive whole number of bytes, got ${frameBytes}`);
  }

  /** Feeds a chunk; returns the frames it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    if (this.pending) {
      const take = Math.min(this.frameBytes - this.filled, chunk.length);
      this.pending.set(chunk.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled === this.frameBytes) {
        frames.push(this.pending);
        this.pending = undefined;
        this.filled = 0;
      }
    }
    while (chunk.length - offset >= this.frameBytes) {
      const frame = new Uint8Array(this.frameBytes);
      frame.set(chunk.subarray(offset, offset + this.frameBytes));
      frames.push(frame);
      offset += this.frameBytes;
    }
    if (offset < chunk.length) {
      this.pending = new Uint8Array(this.frameBytes);
      this.pending.set(chunk.subarray(offset));
      this.filled = chunk.length - offset;
    }
    return frames;
  }

  /** Bytes held toward the next frame. */
  get buffered(): number {
    return this.filled;
  }
}
