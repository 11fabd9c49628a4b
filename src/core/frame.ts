/** A picture as every stage passes it on: packed RGB24 pixels. */
export interface Frame {
  width: number;
  height: number;
  /** Packed RGB24, row-major, `width * height * 3` bytes. */
  data: Uint8Array;
}
