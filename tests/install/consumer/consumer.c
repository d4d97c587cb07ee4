/* consumer.c - a program built against an installed gpugc: makes a cycle of
 * two objects, drops it, and exits 0 only if the collector found both. */
#include <gpugc.h>

#include <stdio.h>

int main(void) {
    gpugc_heap *h = gpugc_heap_new(NULL);
    if (h == NULL)
        return 1;
    gpugc_disable(h);
    void *a = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    void *b = gpugc_new(h, GPUGC_TYPE_OBJECT, 1, 16);
    int64_t found = -1;
    if (a != NULL && b != NULL && gpugc_set_ref(h, a, 0, b) == GPUGC_OK &&
        gpugc_set_ref(h, b, 0, a) == GPUGC_OK) {
        gpugc_decref(h, a);
        gpugc_decref(h, b);
        found = gpugc_collect(h, 2);
    }
    printf("gpugc %d.%d.%d: the collector found %lld of 2 objects in a cycle\n",
           GPUGC_VERSION_MAJOR, GPUGC_VERSION_MINOR, GPUGC_VERSION_PATCH,
           (long long)found);
    gpugc_heap_free(h);
    return found == 2 ? 0 : 1;
}
