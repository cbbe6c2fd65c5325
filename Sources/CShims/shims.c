#include "CShims.h"
#include <string.h>
#include <arpa/inet.h>

long balancerd_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
long balancerd_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
void balancerd_SSL_CTX_harden(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
}
int balancerd_BIO_pending(BIO *bio) {
    return (int)BIO_pending(bio);
}
long balancerd_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

struct MHD_Daemon *balancerd_mhd_start(const struct sockaddr *address, int ipv6, unsigned int threads,
    unsigned int connection_limit, unsigned int per_ip_limit, unsigned int timeout_seconds, size_t connection_memory,
    balancerd_mhd_access_cb access, void *access_cls, balancerd_mhd_uri_cb uri_log,
    balancerd_mhd_completed_cb completed) {
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ipv6) flags |= MHD_USE_IPv6;
    uint16_t port = 0;
    if (address->sa_family == AF_INET) port = ntohs(((const struct sockaddr_in *)address)->sin_port);
    else port = ntohs(((const struct sockaddr_in6 *)address)->sin6_port);
    return MHD_start_daemon(flags, port, NULL, NULL,
        access, access_cls,
        MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
        /* libmicrohttpd zeroes a connection's whole pool between keep-alive
           requests: at its default 32 KiB that memset was 17 % of the HTTP
           threads' time under load. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_END);
}

socklen_t balancerd_mhd_client_address(struct MHD_Connection *connection, struct sockaddr_storage *storage) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return 0;
    socklen_t length = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(storage, info->client_addr, length);
    return length;
}

uint16_t balancerd_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#include <openssl/x509v3.h>

int balancerd_x509_names(X509 *cert, char *out, size_t capacity) {
    int count = 0;
    size_t used = 0;
    out[0] = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names != NULL) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
            if (name->type != GEN_DNS) continue;
            const char *text = (const char *)ASN1_STRING_get0_data(name->d.dNSName);
            size_t length = (size_t)ASN1_STRING_length(name->d.dNSName);
            if (used + length + 2 > capacity) break;
            memcpy(out + used, text, length);
            used += length;
            out[used++] = '\n';
            out[used] = 0;
            count++;
        }
        GENERAL_NAMES_free(names);
    }
    char common[256];
    int length = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, common, sizeof common);
    if (length > 0 && used + (size_t)length + 2 <= capacity) {
        memcpy(out + used, common, (size_t)length);
        used += (size_t)length;
        out[used++] = '\n';
        out[used] = 0;
        count++;
    }
    return count;
}

const char *balancerd_ssl_verify_result(const SSL *ssl) {
    return X509_verify_cert_error_string(SSL_get_verify_result(ssl));
}
