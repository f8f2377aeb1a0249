#ifndef STINT_CMICROHTTPD_SHIM_H
#define STINT_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* Swift cannot call C variadic functions, so these wrappers pass a fixed option list. */

/* Starts a daemon bound to `address` (a sockaddr_in, or a sockaddr_in6 when `flags` contains
   MHD_USE_IPv6). Returns NULL when libmicrohttpd cannot start it; errno then holds the cause. */
static inline struct MHD_Daemon *stint_mhd_start_daemon(
    unsigned int flags,
    const struct sockaddr *address,
    unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds,
    unsigned int connection_limit,
    MHD_AccessHandlerCallback access_handler,
    void *access_handler_context,
    MHD_RequestCompletedCallback completed_handler,
    void *completed_handler_context,
    size_t (*unescape)(void *context, struct MHD_Connection *connection, char *text),
    void *unescape_context)
{
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, access_handler_context,
        MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_NOTIFY_COMPLETED, completed_handler, completed_handler_context,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, unescape_context,
        MHD_OPTION_END);
}

/* Returns the port the daemon listens on, or 0 when libmicrohttpd cannot tell. */
static inline uint16_t stint_mhd_bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/* Returns the peer address of a connection, or NULL when libmicrohttpd cannot tell. */
static inline const struct sockaddr *stint_mhd_client_address(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

#endif
