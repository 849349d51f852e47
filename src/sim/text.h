/*
 * sim/text.h -- names and words used by the simulator (see text.c)
 */
#ifndef MH_SIM_TEXT_H
#define MH_SIM_TEXT_H

#include <stdbool.h>

#include "sim/rng.h"

struct sim_name {
    const char *disp;  /* as displayed (UTF-8) */
    const char *ascii; /* folded for addresses */
};

const struct sim_name *sim_text_first(struct sim_rng *r);
const struct sim_name *sim_text_last(struct sim_rng *r);
const char *sim_text_exec_assistant(void);
bool sim_text_topic_ascii(uint16_t topic);

#endif
