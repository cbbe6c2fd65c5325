#ifndef BALANCERD_CSHIMS_H
#define BALANCERD_CSHIMS_H
#include <openssl/ssl.h>

/// OpenSSL macros as functions, so Swift can call them.
long balancerd_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
long balancerd_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
long balancerd_SSL_CTX_set_options(SSL_CTX *ctx, long options);
int balancerd_BIO_pending(BIO *bio);
long balancerd_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
#endif
