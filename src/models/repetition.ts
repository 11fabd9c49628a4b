/**
 * Repetition control shared by the caption searches (the CNN→LSTM search and the ONNX
 * encoder-decoder engine): which next tokens would repeat what a sequence already holds.
 * Small captioners trained on little data fall into loops ("a row a row a row", "in in in");
 * banning the token that would close a loop lets the search take its next best word.
 */

/**
 * Tokens that would complete an n-gram already in `sequence` (Hugging Face's
 * `no_repeat_ngram_size`): with n = 3, after "… a row a" the token "row" is banned if "a row"
 * was followed by "row"… i.e. if the trigram would occur twice.
 */
export function ngramRepeats(sequence: readonly number[], n: number): number[] {
  const len = sequence.length;
  if (n <= 0 || len + 1 < n) return [];
  const banned: number[] = [];
  for (let i = 0; i + n <= len; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = sequence[i + j] === sequence[len - n + 1 + j];
    if (same) banned.push(sequence[i + n - 1]!);
  }
  return banned;
}

/** The token that would make the last token appear more than `maxRun` times in a row, if any. */
export function runRepeats(sequence: readonly number[], maxRun: number): number[] {
  const len = sequence.length;
  if (maxRun <= 0 || len < maxRun) return [];
  const last = sequence[len - 1]!;
  for (let i = len - maxRun; i < len; i++) if (sequence[i] !== last) return [];
  return [last];
}
