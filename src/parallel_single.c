/* The single-thread build: tasks run inline, in order. */
#include "parallel.h"

void gf_parallel_for(int n_tasks, gf_task_fn fn, void *ctx) {
    for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
}

int gf_parallel_threads(void) { return 1; }
