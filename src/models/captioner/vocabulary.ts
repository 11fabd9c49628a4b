/**
 * The word vocabulary of a CNN→LSTM captioner: caption text ↔ token indices.
 *
 * Index 0 is padding, as in Keras' Tokenizer. Two file forms load:
 *   - an array of words, where the position is the index: ["<pad>", "startseq", "endseq", "a", …]
 *   - a Keras `tokenizer.word_index` object: {"startseq": 1, "endseq": 2, "a": 3, …}
 */
import { writeFile } from 'node:fs/promises';
import { readJsonFile } from '../../util/json-file.js';

export const PAD = '<pad>';

export interface TokenNames {
  start: string;
  end: string;
}

export const DEFAULT_TOKENS: TokenNames = { start: 'startseq', end: 'endseq' };

/** Lower-cases and keeps runs of letters and digits, as the training captions are cleaned. */
export function tokenize(caption: string): string[] {
  return caption
    .toLowerCase()
    .split(/[^a-z0-9']+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w.length > 0);
}

export class Vocabulary {
  private readonly index = new Map<string, number>();

  /** `words[i]` is the word of index i; words[0] is padding. */
  constructor(
    readonly words: readonly string[],
    readonly tokens: TokenNames = DEFAULT_TOKENS,
  ) {
    words.forEach((w, i) => {
      if (i > 0 && w !== undefined && w !== '') this.index.set(w, i);
    });
    for (const t of [tokens.start, tokens.end]) {
      if (!this.index.has(t)) throw new Error(`vocabulary has no '${t}' token`);
    }
  }

  get size(): number {
    return this.words.length;
  }
  get start(): number {
    return this.index.get(this.tokens.start)!;
  }
  get end(): number {
    return this.index.get(this.tokens.end)!;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /** Token indices of a caption, with start and end tokens; unknown words are skipped (Keras does the same). */
  encode(caption: string): number[] {
    const ids = [this.start];
    for (const w of tokenize(caption)) {
      const id = this.index.get(w);
      if (id !== undefined) ids.push(id);
    }
    ids.push(this.end);
    return ids;
  }

  /** Caption text of generated tokens; start, end and padding are left out. */
  decode(ids: readonly number[]): string {
    return ids
      .filter((id) => id !== 0 && id !== this.start && id !== this.end)
      .map((id) => this.words[id] ?? '')
      .filter(Boolean)
      .join(' ');
  }

  /** Builds a vocabulary from training captions: the tokens, then words by falling frequency. */
  static fromCaptions(captions: Iterable<string>, tokens: TokenNames = DEFAULT_TOKENS, minCount = 1): Vocabulary {
    const counts = new Map<string, number>();
    for (const c of captions) for (const w of tokenize(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
    counts.delete(tokens.start);
    counts.delete(tokens.end);
    const words = [...counts.entries()]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    return new Vocabulary([PAD, tokens.start, tokens.end, ...words], tokens);
  }

  /** Parses either file form; `file` names the file in errors. */
  static parse(json: unknown, file: string, tokens: TokenNames = DEFAULT_TOKENS): Vocabulary {
    let words: string[];
    if (Array.isArray(json)) {
      if (!json.every((w) => typeof w === 'string')) throw new Error(`${file}: a vocabulary array must hold only strings`);
      words = json as string[];
    } else if (json && typeof json === 'object') {
      words = [PAD];
      for (const [word, id] of Object.entries(json as Record<string, unknown>)) {
        if (!Number.isInteger(id) || (id as number) < 1) throw new Error(`${file}: index of '${word}' must be a whole number ≥ 1, got ${JSON.stringify(id)}`);
        if (words[id as number] !== undefined && words[id as number] !== '') throw new Error(`${file}: index ${id} is given to both '${words[id as number]}' and '${word}'`);
        words[id as number] = word;
      }
      for (let i = 0; i < words.length; i++) words[i] ??= '';
    } else {
      throw new Error(`${file}: expected a JSON array of words or an object of word → index`);
    }
    try {
      return new Vocabulary(words, tokens);
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message} (set "tokens" in the model manifest if it uses other names)`);
    }
  }

  static async load(file: string, tokens: TokenNames = DEFAULT_TOKENS): Promise<Vocabulary> {
    return Vocabulary.parse(await readJsonFile(file, 'vocabulary file'), file, tokens);
  }

  async save(file: string): Promise<void> {
    await writeFile(file, JSON.stringify(this.words) + '\n');
  }
}
