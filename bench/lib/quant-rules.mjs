// The tensor types llama.cpp's llama-quantize gives a model's tensors for the mixes the
// benchmark writes (Q4_0, Q8_0, Q4_K_M, Q5_K_M), so the generated files hold what a real
// file of the same shape holds. Facts read from src/llama-quant.cpp of ggml-org/llama.cpp
// at commit 007dbbf3 (llama_tensor_get_type, llama_tensor_get_type_impl,
// tensor_type_fallback, tensor_allows_quantization, init_quantize_state_counters); the
// quotes below are theirs. Only the branches these four mixes reach are implemented:
// an unknown mix is an error, never a guess.

// The mix's default type (llama_ftype_get_default_type):
//   case LLAMA_FTYPE_MOSTLY_Q4_0: return GGML_TYPE_Q4_0;   case LLAMA_FTYPE_MOSTLY_Q8_0: return GGML_TYPE_Q8_0;
//   case LLAMA_FTYPE_MOSTLY_Q4_K_S: case LLAMA_FTYPE_MOSTLY_Q4_K_M: return GGML_TYPE_Q4_K;
//   case LLAMA_FTYPE_MOSTLY_Q5_K_S: case LLAMA_FTYPE_MOSTLY_Q5_K_M: return GGML_TYPE_Q5_K;
// general.file_type: llama.cpp's enum llama_ftype (include/llama.h).
export const MIXES = {
  Q4_0: { fileType: 2, base: 'Q4_0' },   // LLAMA_FTYPE_MOSTLY_Q4_0
  Q8_0: { fileType: 7, base: 'Q8_0' },   // LLAMA_FTYPE_MOSTLY_Q8_0
  Q4_K_M: { fileType: 15, base: 'Q4_K' }, // LLAMA_FTYPE_MOSTLY_Q4_K_M
  Q5_K_M: { fileType: 17, base: 'Q5_K' }, // LLAMA_FTYPE_MOSTLY_Q5_K_M
};

// Elements per block of the types these rules choose among (ggml_blck_size).
const BLOCK = { Q4_0: 32, Q5_0: 32, Q5_1: 32, Q8_0: 32, IQ4_NL: 32, Q4_K: 256, Q5_K: 256, Q6_K: 256, IQ4_XS: 256 };

// The layer rule for spending more bits (llama_tensor_get_type_impl):
//   auto use_more_bits = [](int i_layer, int n_layers) -> bool {
//       return i_layer < n_layers/8 || i_layer >= 7*n_layers/8 || (i_layer - n_layers/8)%3 == 2; };
// Integer division as in C; the first clause covers the negative operand of %.
export function useMoreBits(i, n) {
  const n8 = Math.trunc(n / 8);
  return i < n8 || i >= Math.trunc((7 * n) / 8) || (i - n8) % 3 === 2;
}

// Rows whose length is not a multiple of the chosen type's block (tensor_type_fallback):
//   if (ncols % qk_k != 0) { ... switch (target_type) {
//       case GGML_TYPE_IQ1_S: ... case GGML_TYPE_IQ4_XS:  return_type = GGML_TYPE_IQ4_NL; break;
//       case GGML_TYPE_Q2_0: case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K:
//       case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0:       return_type = GGML_TYPE_Q4_0;   break;
//       case GGML_TYPE_Q4_K:    return_type = GGML_TYPE_Q5_0;   break;
//       case GGML_TYPE_Q5_K:    return_type = GGML_TYPE_Q5_1;   break;
//       case GGML_TYPE_Q6_K:    return_type = GGML_TYPE_Q8_0;   break;
//       default: throw std::runtime_error(format("no tensor type fallback is defined for type %s", ...)); }
//     if (ncols % ggml_blck_size(return_type) != 0) { ... return_type = GGML_TYPE_F16; }
// (Older llama.cpp sent Q2_K and Q3_K to IQ4_NL too; the benchmark's mixes never reach
// either, so the difference does not matter here.) Only the block-256 types the four
// mixes can choose are listed.
export const FALLBACK = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0', IQ4_XS: 'IQ4_NL' };

/** tensor_type_fallback: the type for rows of `ncols` elements, given the chosen one. */
export function fallback(type, ncols, name = 'a tensor') {
  if (!BLOCK[type]) throw new Error(`${name}: no block size known for ${type}`);
  if (ncols % BLOCK[type] === 0) return type;
  const to = FALLBACK[type];
  if (!to) throw new Error(`${name}: rows of ${ncols} are not a multiple of ${type}'s block ${BLOCK[type]}, and llama.cpp defines no fallback for ${type}`);
  // the F16 case of a row that is not a multiple of 32 either: no shape here has one
  if (ncols % BLOCK[to] !== 0) throw new Error(`${name}: rows of ${ncols} fit neither ${type} nor ${to} (llama.cpp would write F16)`);
  return to;
}

/**
 * The type llama-quantize gives one tensor. t: { name, ne } (ne[0] = row length), with
 * layer = the block index for blk.N tensors; model: { layers, tied } (tied: no output.weight,
 * token_embd doubles as the output).
 *
 * - Only 2-D (and 3-D) tensors whose name ends in "weight" and not "_norm.weight" are
 *   quantized (tensor_allows_quantization: `if (ggml_n_dims(tensor) < 2) return false;`,
 *   `quantize &= name.find("_norm.weight") == std::string::npos;`): norms and
 *   rope_freqs.weight stay F32.
 * - output.weight, and token_embd.weight when the model has no output.weight
 *   (`qs.has_tied_embeddings`, cleared by init_quantize_state_counters on seeing
 *   output.weight):
 *     if (category == tensor_category::OUTPUT || (qs.has_tied_embeddings && category == tensor_category::TOKEN_EMBD)) {
 *         ... const int64_t qk_k = ggml_blck_size(new_type);
 *         else if (arch == LLM_ARCH_FALCON || nx % qk_k != 0) { new_type = GGML_TYPE_Q8_0; }
 *         ... else if (new_type != GGML_TYPE_Q8_0) { new_type = GGML_TYPE_Q6_K; }
 *   An untied token_embd keeps the default type for these mixes (its branch changes only
 *   IQ*, TQ* and Q2_0 mixes).
 * - attn_v.weight (counted in llama.cpp's tensor order, layer by layer, so i_attention_wv is
 *   the layer and n_attention_wv the layer count):
 *     else if ((ftype == LLAMA_FTYPE_MOSTLY_Q4_K_M || ftype == LLAMA_FTYPE_MOSTLY_Q5_K_M) &&
 *             use_more_bits(qs.i_attention_wv, qs.n_attention_wv)) new_type = GGML_TYPE_Q6_K;
 *   The GQA-dependent choices of that branch (`qs.model.hparams.n_gqa() >= 4`) belong to
 *   Q2_K, Q2_K_S, IQ3_XXS, IQ3_XS/S and IQ4_NL/XS only; the 70B and 8-expert bumps
 *   (`qs.model.type == LLM_TYPE_70B`, `n_expert == 8`) do not apply to these shapes.
 * - ffn_down (non-Falcon):
 *     else if (ftype == LLAMA_FTYPE_MOSTLY_Q4_K_M) { ... if (use_more_bits(i_layer, n_layer)) new_type = GGML_TYPE_Q6_K; }
 *     else if (ftype == LLAMA_FTYPE_MOSTLY_Q5_K_M && use_more_bits(i_layer, n_layer)) new_type = GGML_TYPE_Q6_K;
 *   (The Q4_0 branch there, Q4_1 for the first eighth, needs an imatrix; none here.)
 * - Every other matrix keeps the default type; attn_output, attn_q, attn_k, ffn_gate and
 *   ffn_up change only for Q2_K, Q3_K_*, IQ* mixes.
 * - Then the fallback above, for every quantized tensor (new_type = tensor_type_fallback(...)).
 */
export function tensorType(t, mixName, model) {
  const mix = MIXES[mixName];
  if (!mix) throw new Error(`unknown type ${mixName} (${Object.keys(MIXES).join(', ')})`);
  if (t.ne.length < 2 || !t.name.endsWith('weight') || t.name.endsWith('_norm.weight')) return 'F32';
  const km = mixName === 'Q4_K_M' || mixName === 'Q5_K_M';
  let type = mix.base;
  if (t.name === 'output.weight' || (model.tied && t.name === 'token_embd.weight')) {
    if (t.ne[0] % BLOCK[type] !== 0) type = 'Q8_0';
    else if (type !== 'Q8_0') type = 'Q6_K';
  } else if (t.name.endsWith('.attn_v.weight')) {
    if (km && useMoreBits(t.layer, model.layers)) type = 'Q6_K';
  } else if (t.name.endsWith('.ffn_down.weight')) {
    if (km && useMoreBits(t.layer, model.layers)) type = 'Q6_K';
  }
  return fallback(type, t.ne[0], t.name);
}
