/**
 * Trains a byte-level BPE tokenizer (the kind BART and GPT-2 use) on a corpus and writes it as a
 * Hugging Face `tokenizer.json`, so livecap's own models are tokenized by the same library and
 * the same file format as the models users bring.
 *
 * Text is split into pieces with GPT-2's pattern, each piece's UTF-8 bytes are mapped to
 * printable characters (GPT-2's byte alphabet, so a space becomes 'Ġ'), and the most frequent
 * adjacent pair is merged until the vocabulary is full. Ties are broken by the pair's text, so a
 * corpus always gives the same tokenizer.
 */
export const BART_SPECIAL_TOKENS = ['<s>', '<pad>', '</s>', '<unk>'] as const;

const PIECE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's map from a byte to a printable character. */
export function byteAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return map;
}

export interface BpeTrainingOptions {
  /** Total vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  specialTokens?: readonly string[];
}

export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainingOptions): Record<string, unknown> {
  const specials = options.specialTokens ?? BART_SPECIAL_TOKENS;
  const alphabet = byteAlphabet();
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of text.match(PIECE) ?? []) {
      const mapped = Array.from(encoder.encode(piece), (b) => alphabet[b]!).join('');
      counts.set(mapped, (counts.get(mapped) ?? 0) + 1);
    }
  }
  const words = [...counts].map(([w, n]) => ({ symbols: Array.from(w), count: n }));

  const vocab = new Map<string, number>();
  for (const s of specials) vocab.set(s, vocab.size);
  for (const ch of alphabet) vocab.set(ch, vocab.size);
  const merges: string[] = [];
  while (vocab.size < options.vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, n] of pairs) if (n > bestCount || (n === bestCount && best !== undefined && key < best)) [best, bestCount] = [key, n];
    if (best === undefined) break; // nothing left that occurs twice
    const [a, b] = best.split(' ') as [string, string];
    merges.push(best);
    vocab.set(a + b, vocab.size);
    for (const word of words) {
      const s = word.symbols;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
    }
  }
  return tokenizerJson(Object.fromEntries(vocab), merges, specials);
}

function tokenizerJson(vocab: Record<string, number>, merges: string[], specials: readonly string[]): Record<string, unknown> {
  const [bos = '<s>', , eos = '</s>'] = specials;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: [eos, vocab[eos]], cls: [bos, vocab[bos]], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** The `tokenizer_config.json` that goes with a tokenizer trained here. */
export function tokenizerConfigJson(maxLength: number, specials: readonly string[] = BART_SPECIAL_TOKENS): Record<string, unknown> {
  const [bos, pad, eos, unk] = specials;
  return { tokenizer_class: 'BartTokenizer', bos_token: bos, pad_token: pad, eos_token: eos, unk_token: unk, model_max_length: maxLength, add_prefix_space: false, clean_up_tokenization_spaces: true };
}
