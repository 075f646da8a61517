/* The pruned file, written as the source streams in (window/commit, as the
 * transcoder): the output header is known from the source's and the plan
 * (prune.h); each tensor is buffered whole and written with its kept rows
 * (attn_q/k/v, ffn_gate/up and their biases) or kept columns (attn_output,
 * ffn_down; or the refitted matrix), every other tensor as it is.
 *
 * Metadata: copied, with <arch>.feed_forward_length, attention.head_count
 * and attention.head_count_kv as UINT32 arrays of block_count values (as
 * llama.cpp's model saver writes per-layer values) and attention.key_length
 * / value_length set (llama.cpp takes the head size from layer 0's head
 * count otherwise). Layers of equal sizes stay "llama" (llama.cpp's llama
 * reads layer 0's sizes, which are then every layer's); layers that differ
 * make the file "deci", llama.cpp's llama with per-layer sizes, every
 * "llama.*" key renamed. Column-selected matrices must be F32, F16 (or BF16
 * without refit): quantize after pruning. */
#ifndef GF_PRUNE_WRITE_H
#define GF_PRUNE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "tools/prune.h"

typedef struct gf_prune_writer gf_prune_writer;

/* plan is borrowed (it must outlive the writer) */
int gf_prune_writer_new(const gf_prune_plan *plan, gf_prune_writer **out);
void gf_prune_writer_free(gf_prune_writer *w);
/* As the transcoder: GF_TC_MORE, GF_TC_HEADER, GF_TC_COMPLETE (transcode.h) or an error */
uint8_t *gf_prune_writer_window(gf_prune_writer *w, size_t *cap);
int gf_prune_writer_commit(gf_prune_writer *w, size_t n);
int gf_prune_writer_end(gf_prune_writer *w);
const uint8_t *gf_prune_writer_output(const gf_prune_writer *w, size_t *n);
void gf_prune_writer_drain(gf_prune_writer *w, size_t n);
/* After the header: {"architecture","inputBytes","outputBytes","elements","tensors":[{"name","shape","type"}]} */
const char *gf_prune_writer_json(const gf_prune_writer *w);

#endif
