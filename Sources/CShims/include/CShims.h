#ifndef BALANCERD_CSHIMS_H
#define BALANCERD_CSHIMS_H
#include <openssl/ssl.h>

/// OpenSSL macros as functions, so Swift can call them.
long balancerd_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
long balancerd_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
/// Refuses renegotiation and compression (SSL_OP_* are macros Swift cannot import).
void balancerd_SSL_CTX_harden(SSL_CTX *ctx);
int balancerd_BIO_pending(BIO *bio);
long balancerd_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);


#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/// libmicrohttpd's variadic calls, as fixed-argument functions Swift can call.
typedef enum MHD_Result (*balancerd_mhd_access_cb)(void *cls, struct MHD_Connection *connection,
    const char *url, const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls);
typedef void *(*balancerd_mhd_uri_cb)(void *cls, const char *uri, struct MHD_Connection *connection);
typedef void (*balancerd_mhd_completed_cb)(void *cls, struct MHD_Connection *connection, void **con_cls,
    enum MHD_RequestTerminationCode toe);

/// Starts an epoll daemon with an internal thread pool on `address`.
struct MHD_Daemon *balancerd_mhd_start(const struct sockaddr *address, int ipv6, unsigned int threads,
    unsigned int connection_limit, unsigned int per_ip_limit, unsigned int timeout_seconds, size_t connection_memory,
    balancerd_mhd_access_cb access, void *access_cls, balancerd_mhd_uri_cb uri_log,
    balancerd_mhd_completed_cb completed);

/// Copies the client's address into `storage`; returns its length, or 0.
socklen_t balancerd_mhd_client_address(struct MHD_Connection *connection, struct sockaddr_storage *storage);

/// The port the daemon is bound to (useful after binding port 0).
uint16_t balancerd_mhd_bound_port(struct MHD_Daemon *daemon);

/// Writes the certificate's SAN DNS names and its subject CN into `out`, one per
/// line (NUL-terminated, truncated at `capacity`); returns the number of names.
int balancerd_x509_names(X509 *cert, char *out, size_t capacity);

/// The verification result of the peer's certificate, as a sentence (X509_verify_cert_error_string).
const char *balancerd_ssl_verify_result(const SSL *ssl);
#endif
