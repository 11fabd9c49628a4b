/** A window's captions as a summarizer's input text: each its own sentence. */
export function captionsAsText(captions: readonly string[]): string {
  return captions.map((c) => c.trim().replace(/[.!?]*$/, '.')).join(' ');
}
