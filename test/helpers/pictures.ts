/** Textured test pictures for the scene gate tests. */
/** The size of the pictures, and the frame rate the scene gate tests play them at. */
export const PICTURE = { W: 160, H: 120, FPS: 10 } as const;
const { W, H } = PICTURE;

/** A textured picture: smooth random blocks of colour, the same for the same seed. */
export function picture(seed: number): Uint8Array {
  const data = new Uint8Array(W * H * 3);
  const block = (bx: number, by: number, c: number) => {
    let h = Math.imul(bx + 31 * by + 977 * c, 2654435761) ^ Math.imul(seed + 1, 40503);
    h = Math.imul(h ^ (h >>> 15), 2246822519);
    return 40 + (((h ^ (h >>> 13)) >>> 0) % 170);
  };
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = block(x >> 4, y >> 4, c);
  return data;
}
