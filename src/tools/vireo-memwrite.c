/* vireo-memwrite.c — a memory workload for live-migration tests: keeps
 * rewriting N MiB of self-describing pages while a second thread verifies
 * them, and reports once a second in a one-line JSON status file that
 * vireo-tools forwards in its heartbeat. A page torn, lost or rolled back by
 * a migration shows up as an error.
 *
 * Each 4 KiB page holds a header (magic, page index, generation, hash of the
 * body) and a body derived from (index, generation). A per-page sequence
 * counter, odd while the writer is inside the page, lets the verifier take a
 * consistent copy without locks (a seqlock); generation = counter / 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE 4096
#define PAGE_MAGIC 0x31574d4f45524956ull /* "VIREOMW1" */
#define BODY_WORDS ((PAGE_SIZE - 32) / 8)
#define MAX_REPORTED_ERRORS 20

typedef struct {
    uint64_t magic;
    uint64_t index;
    uint64_t generation;
    uint64_t hash;
    uint64_t body[BODY_WORDS];
} Page;

_Static_assert(sizeof(Page) == PAGE_SIZE, "a Page is one 4 KiB page");

typedef struct {
    uint64_t mib;
    double rate_mib_per_s; /* 0: as fast as the vCPU goes */
    const char *status_path;
    int seconds;           /* 0: until SIGTERM/SIGINT */
    bool inject_fault;
    Page *pages;
    size_t n_pages;
    _Atomic uint64_t *seq;
    _Atomic uint64_t passes;
    _Atomic uint64_t errors;
    _Atomic uint64_t verified;
} Workload;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t body_word(uint64_t index, uint64_t generation, size_t j)
{
    return splitmix64((index << 24) ^ (generation << 12) ^ j ^ (generation << 40));
}

static uint64_t body_hash(const uint64_t *body)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t j = 0; j < BODY_WORDS; j++)
        h = (h ^ body[j]) * 0x100000001b3ull;
    return h;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_requested)
        ;
}

static void write_page(Workload *w, size_t i)
{
    Page *p = &w->pages[i];
    uint64_t s = atomic_load_explicit(&w->seq[i], memory_order_relaxed);
    uint64_t generation = s / 2 + 1;

    atomic_store_explicit(&w->seq[i], s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t j = 0; j < BODY_WORDS; j++)
        p->body[j] = body_word(i, generation, j);
    p->magic = PAGE_MAGIC;
    p->index = i;
    p->generation = generation;
    p->hash = body_hash(p->body);
    atomic_store_explicit(&w->seq[i], s + 2, memory_order_release);
}

static void report_error(Workload *w, size_t i, const char *what, uint64_t expected, uint64_t found)
{
    uint64_t n = atomic_fetch_add(&w->errors, 1);
    if (n < MAX_REPORTED_ERRORS)
        fprintf(stderr, "vireo-memwrite: page %zu: %s (expected %" PRIx64 ", found %" PRIx64 ")\n", i, what,
                expected, found);
}

/* Verifies page i against its counter; a page being written is skipped. */
static void verify_page(Workload *w, size_t i)
{
    static _Thread_local Page copy;
    uint64_t s1 = atomic_load_explicit(&w->seq[i], memory_order_acquire);
    if (s1 & 1)
        return;
    memcpy(&copy, &w->pages[i], sizeof copy);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&w->seq[i], memory_order_relaxed) != s1)
        return;
    uint64_t generation = s1 / 2;
    if (copy.magic != PAGE_MAGIC)
        report_error(w, i, "bad magic", PAGE_MAGIC, copy.magic);
    else if (copy.index != i)
        report_error(w, i, "wrong index", i, copy.index);
    else if (copy.generation != generation)
        report_error(w, i, "stale or lost page", generation, copy.generation);
    else if (body_hash(copy.body) != copy.hash)
        report_error(w, i, "torn page (body hash)", copy.hash, body_hash(copy.body));
    else if (copy.body[0] != body_word(i, generation, 0) || copy.body[BODY_WORDS - 1] != body_word(i, generation, BODY_WORDS - 1))
        report_error(w, i, "body does not match generation", body_word(i, generation, 0), copy.body[0]);
    atomic_fetch_add_explicit(&w->verified, 1, memory_order_relaxed);
}

static void *writer_main(void *data)
{
    Workload *w = data;
    double start = now_s();
    uint64_t written = 0;
    double pages_per_s = w->rate_mib_per_s * (1024.0 * 1024.0 / PAGE_SIZE);

    while (!stop_requested) {
        for (size_t i = 0; i < w->n_pages && !stop_requested; i++) {
            write_page(w, i);
            written++;
            if (pages_per_s > 0 && written % 64 == 0)
                sleep_s(start + (double)written / pages_per_s - now_s());
        }
        atomic_fetch_add(&w->passes, 1);
    }
    return NULL;
}

/* One pass over the area a second at most: verification should not steal
 * the vCPU from the writer or the rest of the guest. */
static void *verifier_main(void *data)
{
    Workload *w = data;
    while (!stop_requested) {
        double start = now_s();
        for (size_t i = 0; i < w->n_pages && !stop_requested; i++)
            verify_page(w, i);
        sleep_s(start + 1.0 - now_s());
    }
    return NULL;
}

static uint64_t generation_checksum(const Workload *w)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < w->n_pages; i++)
        h = (h ^ (atomic_load_explicit(&w->seq[i], memory_order_relaxed) / 2)) * 0x100000001b3ull;
    return h;
}

static void write_status(Workload *w, bool running)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", w->status_path);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        fprintf(stderr, "vireo-memwrite: %s: %s\n", tmp, strerror(errno));
        return;
    }
    fprintf(f,
            "{\"running\":%s,\"mib\":%" PRIu64 ",\"passes\":%" PRIu64 ",\"errors\":%" PRIu64
            ",\"verified\":%" PRIu64 ",\"checksum\":\"%016" PRIx64 "\"}\n",
            running ? "true" : "false", w->mib, atomic_load(&w->passes), atomic_load(&w->errors),
            atomic_load(&w->verified), generation_checksum(w));
    if (fclose(f) != 0 || rename(tmp, w->status_path) < 0)
        fprintf(stderr, "vireo-memwrite: %s: %s\n", w->status_path, strerror(errno));
}

static int parse_args(Workload *w, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(arg, "--help") == 0) {
            printf("Usage: vireo-memwrite --mib N [--rate-mib-per-s R] [--status PATH] [--seconds S]\n"
                   "Keeps rewriting and verifying N MiB of self-describing pages (a live-migration\n"
                   "workload); writes a JSON status line to PATH (default /run/vireo-memwrite.status)\n"
                   "every second. R = 0 (default): as fast as possible. S = 0 (default): until\n"
                   "SIGTERM/SIGINT. Exits 1 if any page failed verification.\n"
                   "  --inject-fault  corrupt one page on purpose (to test the detection)\n");
            exit(0);
        } else if (strcmp(arg, "--inject-fault") == 0) {
            w->inject_fault = true;
            continue;
        }
        if (!value)
            return -1;
        i++;
        if (strcmp(arg, "--status") == 0) {
            w->status_path = value;
            continue;
        }
        if (strcmp(arg, "--mib") == 0)
            w->mib = strtoull(value, &end, 10);
        else if (strcmp(arg, "--rate-mib-per-s") == 0)
            w->rate_mib_per_s = strtod(value, &end);
        else if (strcmp(arg, "--seconds") == 0)
            w->seconds = (int)strtol(value, &end, 10);
        else
            return -1;
        if (!end || *end)
            return -1;
    }
    return w->mib > 0 && w->mib <= 1024 * 1024 && w->rate_mib_per_s >= 0 && w->seconds >= 0 ? 0 : -1;
}

static int setup(Workload *w)
{
    w->n_pages = (size_t)w->mib * (1024 * 1024 / PAGE_SIZE);
    w->pages = mmap(NULL, w->n_pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                    -1, 0);
    w->seq = calloc(w->n_pages, sizeof *w->seq);
    if (w->pages == MAP_FAILED || !w->seq) {
        fprintf(stderr, "vireo-memwrite: cannot allocate %" PRIu64 " MiB\n", w->mib);
        return -1;
    }
    for (size_t i = 0; i < w->n_pages; i++)
        write_page(w, i);
    if (w->inject_fault)
        w->pages[w->n_pages - 1].body[7] ^= 1; /* the writer reaches it last */
    return 0;
}

int main(int argc, char **argv)
{
    Workload w = { .status_path = "/run/vireo-memwrite.status" };
    pthread_t writer, verifier;

    if (parse_args(&w, argc, argv) < 0) {
        fprintf(stderr, "Usage: vireo-memwrite --mib N [--rate-mib-per-s R] [--status PATH] [--seconds S]\n");
        return 2;
    }
    if (setup(&w) < 0)
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (pthread_create(&writer, NULL, writer_main, &w) != 0 ||
        pthread_create(&verifier, NULL, verifier_main, &w) != 0) {
        fprintf(stderr, "vireo-memwrite: cannot start threads\n");
        return 1;
    }
    double start = now_s();
    while (!stop_requested) {
        write_status(&w, true);
        sleep_s(1.0);
        if (w.seconds > 0 && now_s() - start >= w.seconds)
            stop_requested = 1;
    }
    pthread_join(writer, NULL);
    pthread_join(verifier, NULL);
    write_status(&w, false);
    return atomic_load(&w.errors) ? 1 : 0;
}
