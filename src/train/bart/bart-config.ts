/**
 * BART's shape and special tokens, read from and written to a Hugging Face `config.json`
 * (the field names are Hugging Face's, so livecap's own models and exported ones share a layout).
 */
export interface BartConfig {
  vocabSize: number;
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderHeads: number;
  decoderHeads: number;
  encoderFfn: number;
  decoderFfn: number;
  /** Positions the learned position table covers (it has two more rows: BART's offset). */
  maxPositions: number;
  scaleEmbedding: boolean;
  activation: 'gelu' | 'relu';
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  decoderStartTokenId: number;
}

/** BART's learned position embeddings start at row 2 (a quirk kept from fairseq). */
export const POSITION_OFFSET = 2;

export function bartConfigJson(c: BartConfig): Record<string, unknown> {
  return {
    model_type: 'bart',
    architectures: ['BartForConditionalGeneration'],
    is_encoder_decoder: true,
    vocab_size: c.vocabSize,
    d_model: c.dModel,
    encoder_layers: c.encoderLayers,
    decoder_layers: c.decoderLayers,
    encoder_attention_heads: c.encoderHeads,
    decoder_attention_heads: c.decoderHeads,
    encoder_ffn_dim: c.encoderFfn,
    decoder_ffn_dim: c.decoderFfn,
    max_position_embeddings: c.maxPositions,
    scale_embedding: c.scaleEmbedding,
    activation_function: c.activation,
    pad_token_id: c.padTokenId,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    decoder_start_token_id: c.decoderStartTokenId,
    forced_bos_token_id: c.bosTokenId,
    forced_eos_token_id: c.eosTokenId,
  };
}
