/* background.c - the background purge thread's life; what a round does is decay's. */
#include "alloc/background.h"

#include <errno.h>

#include "alloc/decay.h"
#include "alloc/options.h"
#include "alloc/platform/thread.h"

unsigned ta_background_period_ms(unsigned decay_ms) {
    unsigned p = decay_ms / 4;
    return p < 10 ? 10 : p > 1000 ? 1000 : p;
}

int ta_background_set(int on) {
    if (on != 0 && on != 1) return EINVAL;
    if (!on) {
        ta_service_stop();
        return 0;
    }
    return ta_service_start(ta_decay_background_round, ta_background_period_ms(ta_opt.decay_ms));
}

int ta_background_running(void) { return ta_service_running(); }
void ta_background_fork_child(void) { ta_service_fork_child(); }
void ta_background_at_exit(void) { ta_service_stop(); }
