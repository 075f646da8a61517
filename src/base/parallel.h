/* Work splitting. Kernels are written as tasks over index ranges; the
 * single-thread build runs them inline, the pthreads build hands them to a
 * persistent pool. Results never depend on how tasks are split. */
#ifndef GF_PARALLEL_H
#define GF_PARALLEL_H

typedef void (*gf_task_fn)(void *ctx, int task, int n_tasks);

/* Starts worker threads so that n_threads run tasks (the caller included);
 * returns how many do (1 in the single-thread build). */
int gf_parallel_start(int n_threads);
/* Runs fn(ctx, i, n_tasks) for i in [0, n_tasks), possibly concurrently,
 * and returns when all have finished. */
void gf_parallel_for(int n_tasks, gf_task_fn fn, void *ctx);
/* Threads that run tasks (1 without a pool). */
int gf_parallel_threads(void);

#endif
