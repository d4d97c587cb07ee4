/* options.h - a new heap's effective configuration: the options of
 * gpugc_config (GPUGC_OPTIONS in gpugc.h) with the environment applied,
 * every value checked, strings copied. */
#ifndef GPUGC_OPTIONS_H
#define GPUGC_OPTIONS_H

#include "gpugc.h"

/* *out = *given with each option whose GPUGC_<NAME> is set and not empty
 * taken from the variable instead, every option checked, and the strings
 * copied into one block, *strings, which the caller frees (NULL when there
 * is none; *out's strings point into it).  GPUGC_OK, or the failure,
 * reported with no heap and naming the variable or the field; nothing is
 * left to free then. */
int gpugc__options_resolve(const gpugc_config *given, gpugc_config *out, char **strings);

#endif /* GPUGC_OPTIONS_H */
