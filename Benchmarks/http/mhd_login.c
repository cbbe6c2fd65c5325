/* The reference for balancerd's /login: the plain C library it is built on.
 * libmicrohttpd with the same daemon flags as balancerd (epoll, a pool of
 * THREADS threads (default 2), 2048 connections, 15 s timeout, 16 KiB per connection, no
 * per-address limit) answering
 * every request with the same 302 balancerd sends: a response built per
 * request with Location, Cache-Control and X-Balancer-Target. What balancerd
 * adds on top of this is the Swift side: routing, the balancer decision,
 * metrics.  Build: cc -O2 mhd_login.c -lmicrohttpd   Run: ./a.out PORT [THREADS] [reuseport]
 * With `reuseport`: instead of one daemon with a pool of THREADS threads
 * racing to accept on one socket, THREADS single-threaded daemons, each with
 * its own SO_REUSEPORT socket on PORT (the kernel spreads the connections). */
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state) {
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    static int marker;
    if (*state == NULL) { *state = &marker; return MHD_YES; }
    if (*upload_size > 0) { *upload_size = 0; return MHD_YES; }
    struct MHD_Response *response = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, "Location", "https://a2.localhost/login");
    MHD_add_response_header(response, "Cache-Control", "no-store");
    MHD_add_response_header(response, "X-Balancer-Target", "a2");
    enum MHD_Result result = MHD_queue_response(connection, 302, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv) {
    unsigned short port = argc > 1 ? (unsigned short)atoi(argv[1]) : 18084;
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : 2u;
    int reuseport = argc > 3 && strcmp(argv[3], "reuseport") == 0;
    /* The pool per connection, as balancerd's http.connection_memory (its default 16 KiB). */
    size_t memory = argc > 4 ? (size_t)atol(argv[4]) : 16384u;
    if (threads == 0) threads = 1;
    if (threads > 16) threads = 16;
    struct MHD_Daemon *daemons[16] = {0};
    for (unsigned int i = 0; i < (reuseport ? threads : 1u); i++) {
        daemons[i] = reuseport
            ? MHD_start_daemon(
                  MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, answer, NULL,
                  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_CONNECTION_LIMIT, 2048u / threads,
                  MHD_OPTION_CONNECTION_TIMEOUT, 15u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
                  MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END)
            : MHD_start_daemon(
                  MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, answer, NULL,
                  MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 2048u, MHD_OPTION_CONNECTION_TIMEOUT, 15u,
                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
                  MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
        if (!daemons[i]) return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    for (unsigned int i = 0; i < 16 && daemons[i]; i++) MHD_stop_daemon(daemons[i]);
    return 0;
}
