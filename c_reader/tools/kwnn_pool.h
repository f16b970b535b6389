/* kwnn_pool.h: a POSIX-threads parallel_for for kwnn_options (kwbin_nn.h).

   kwbin_nn.h creates no threads; it hands independent blocks of work to the
   caller's parallel_for.  This is the one kwbin-run --threads N and the
   benches use: N - 1 worker threads started once, woken for each call; the
   calling thread works too; the tasks are taken in turn from a shared counter.

       kwnn_pool pool;
       if (kwnn_pool_start(&pool, 4) == 0) {
           opt.parallel_for = kwnn_pool_for;
           opt.parallel_data = &pool;
       }
       ... kwnn_load(&net, &f, &opt); kwnn_run(...) ...
       kwnn_pool_stop(&pool);   after the last kwnn_run

   One kwnn_run at a time per pool.  Include once (static functions); link
   with -pthread where the C library needs it. */
#ifndef KWNN_POOL_H
#define KWNN_POOL_H

#include <pthread.h>
#include <stddef.h>

#define KWNN_POOL_MAX 64

typedef struct kwnn_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    void (*task)(void *ctx, size_t i);
    void *ctx;
    size_t n, next;
    unsigned long generation;
    int threads, busy, quit;
    pthread_t th[KWNN_POOL_MAX];
} kwnn_pool;

/* Runs tasks of the current call until none is left. */
static void kwnn_pool__drain(kwnn_pool *p)
{
    for (;;) {
        size_t i;
        pthread_mutex_lock(&p->mu);
        i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n) return;
        p->task(p->ctx, i);
    }
}

static void *kwnn_pool__worker(void *arg)
{
    kwnn_pool *p = (kwnn_pool *)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->generation == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        kwnn_pool__drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The parallel_for of kwnn_options; data: the pool. */
static void kwnn_pool_for(void (*task)(void *ctx, size_t i), void *ctx, size_t n, void *data)
{
    kwnn_pool *p = (kwnn_pool *)data;
    pthread_mutex_lock(&p->mu);
    p->task = task;
    p->ctx = ctx;
    p->n = n;
    p->next = 0;
    p->busy = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    kwnn_pool__drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu); /* every worker saw this call */
    pthread_mutex_unlock(&p->mu);
}

static void kwnn_pool_stop(kwnn_pool *p)
{
    int i;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->threads - 1; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}

/* 0 on success; threads in [1, KWNN_POOL_MAX], the calling thread included. */
static int kwnn_pool_start(kwnn_pool *p, int threads)
{
    int i;
    if (threads < 1 || threads > KWNN_POOL_MAX) return -1;
    p->task = NULL;
    p->ctx = NULL;
    p->n = p->next = 0;
    p->generation = 0;
    p->busy = p->quit = 0;
    p->threads = 1;
    if (pthread_mutex_init(&p->mu, NULL) != 0) return -1;
    if (pthread_cond_init(&p->go, NULL) != 0 || pthread_cond_init(&p->done, NULL) != 0) return -1;
    for (i = 0; i < threads - 1; i++) {
        if (pthread_create(&p->th[i], NULL, kwnn_pool__worker, p) != 0) {
            kwnn_pool_stop(p);
            return -1;
        }
        p->threads++;
    }
    return 0;
}

#endif
