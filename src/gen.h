/* gen.h - generation lists: which tracked objects each generation holds,
 * each at its place gen_pos[id], so that joining and leaving are O(1). */
#ifndef GPUGC_GEN_H
#define GPUGC_GEN_H

#include "heap.h"

int gpugc__gen_add(gpugc_heap *h, uint32_t id, uint32_t g);
void gpugc__gen_remove(gpugc_heap *h, uint32_t id);
/* Moves tracked id to generation g (another than its own); GPUGC_ENOMEM
 * (reported) changes nothing. */
int gpugc__gen_move(gpugc_heap *h, uint32_t id, uint32_t g);
/* Moves every member of generation `from` but the immortal ones to the end
 * of generation `to`, for which gpugc__vec_reserve made room. */
void gpugc__gen_merge(gpugc_heap *h, uint32_t from, uint32_t to);
/* Moves the last `count` members of generation `from` to the end of
 * generation `to`, in order, for which there is room: undoes a
 * gen_merge of `to` into `from` whose room `to` kept. */
void gpugc__gen_move_tail(gpugc_heap *h, uint32_t from, uint32_t to, size_t count);
/* The generation an object joins when it becomes tracked. */
static inline uint32_t gen_home(uint32_t meta) {
    return meta & META_IMMORTAL ? PERMANENT_GEN : 0;
}

#endif /* GPUGC_GEN_H */
