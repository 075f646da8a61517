/* The single-thread build: tasks run inline, in order. */
#include "base/parallel.h"

int gf_parallel_start(int n_threads) { return 1; }

void gf_parallel_for(int n_tasks, gf_task_fn fn, void *ctx) {
    for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
}

int gf_parallel_threads(void) { return 1; }
