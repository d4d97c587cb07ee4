/* layout.h - the values the host code and the compiled-in CUDA kernels
 * share: how ids, meta words and dirty cards are laid out.  Macros only,
 * so that C and CUDA C++ can both include it (OpenCL gets the same values
 * as build options, from mark/opencl.c).
 */
#ifndef GPUGC_LAYOUT_H
#define GPUGC_LAYOUT_H

#include <stdint.h>

#define NO_ID UINT32_MAX /* an empty slot; never a valid id */
#define MAX_IDS (UINT32_MAX - 1u)

/* meta[id]: flags in the low 12 bits, type id above.  The mark kernels read
 * LIVE, TRACKED and the generation. */
#define META_GEN_MASK 0x03u   /* generation 0..2, or PERMANENT_GEN       */
#define META_TRACKED 0x04u    /* examined by the cycle collector         */
#define META_FINALIZED 0x08u  /* finalize has run; never again (PEP 442) */
#define META_LIVE 0x10u       /* the id names an object                  */
#define META_IMMORTAL 0x20u   /* counts never change; freed by heap_free */
#define META_UNTRACKED 0x40u  /* gpugc_untrack: left out of collection
                                 even when it has slots                  */
#define META_LISTED_SHIFT 8   /* bit 8 + g: generation g's list holds an
                                 entry for the id, live or dead (gen.h)  */
#define META_LISTED_MASK 0xf00u
#define META_TYPE_SHIFT 12
#define META_MAX_TYPES (1u << (32 - META_TYPE_SHIFT))

/* 8 entries, 32 bytes of a 4-byte array: changing the slots of 1% of the
 * objects of a degree-2 graph at random dirties about 4% of the slot cards
 * (64-byte cards: 8%), which keeps a device sync near what changed. */
#define CARD_SHIFT 3

#endif /* GPUGC_LAYOUT_H */
