/* The pthreads build: a persistent pool. Workers are created once per wasm
 * instance and park between jobs: they spin for a while (decode issues a
 * job every few microseconds, and a worker woken from a futex starts tens of
 * microseconds late, which made the small matrices of a 2-thread decode no
 * faster than one thread), then sleep on a futex so an idle model uses no
 * CPU. Every worker checks in after every job, so when gf_parallel_for
 * returns no worker can still touch the finished job. Tasks are handed out
 * by an atomic counter; each task computes fixed outputs, so results never
 * depend on which thread ran it. */
#include <emscripten.h>
#include <emscripten/threading.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/error.h"
#include "base/parallel.h"

#define MAX_THREADS 64
/* How long a worker spins for the next job before it sleeps: longer than
 * the gaps inside a token's forward pass and than the time between two
 * decoded tokens (sampling, the generator loop, a message to the page). */
#define SPIN_MS 2.0

static struct {
    int n_threads; /* including the calling thread */
    _Atomic uint32_t generation;
    _Atomic int next_task;
    _Atomic int checked_in;
    _Atomic int sleeping; /* workers in (or about to enter) a futex wait */
    gf_task_fn fn;
    void *ctx;
    int n_tasks;
} pool = {.n_threads = 1};

static void run_tasks(void) {
    for (int i; (i = atomic_fetch_add(&pool.next_task, 1)) < pool.n_tasks;) pool.fn(pool.ctx, i, pool.n_tasks);
}

/* arg: the generation when the worker was created. Read here instead, a
 * worker that starts late would take a job published meanwhile for an old
 * one, never run it, and gf_parallel_for would wait for it forever. */
static void *worker(void *arg) {
    uint32_t seen = (uint32_t)(uintptr_t)arg;
    for (;;) {
        double since = -1;
        for (unsigned spin = 1; atomic_load(&pool.generation) == seen; spin++) {
            if (spin % 1024) continue; /* the clock is a call out of wasm */
            double now = emscripten_get_now();
            if (since < 0) since = now;
            if (now - since < SPIN_MS) continue;
            /* sleeping is raised before generation is read again, and the
             * job's publisher reads sleeping after raising generation (both
             * sequentially consistent): a worker misses no wake-up. */
            atomic_fetch_add(&pool.sleeping, 1);
            emscripten_futex_wait((void *)&pool.generation, seen, 100);
            atomic_fetch_sub(&pool.sleeping, 1);
            since = -1;
        }
        seen = atomic_load(&pool.generation);
        run_tasks();
        atomic_fetch_add(&pool.checked_in, 1);
    }
    return NULL;
}

int gf_parallel_start(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    while (pool.n_threads < n_threads) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)atomic_load(&pool.generation))) break; /* keep what we have; info() reports the count */
        pthread_detach(t);
        pool.n_threads++;
    }
    return pool.n_threads;
}

void gf_parallel_for(int n_tasks, gf_task_fn fn, void *ctx) {
    if (pool.n_threads == 1 || n_tasks <= 1) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = n_tasks;
    atomic_store(&pool.next_task, 0);
    atomic_store(&pool.checked_in, 0);
    atomic_fetch_add(&pool.generation, 1); /* publishes the job (seq_cst) */
    if (atomic_load(&pool.sleeping)) emscripten_futex_wake((void *)&pool.generation, MAX_THREADS);
    run_tasks();
    while (atomic_load(&pool.checked_in) < pool.n_threads - 1) {
    }
}

int gf_parallel_threads(void) { return pool.n_threads; }
