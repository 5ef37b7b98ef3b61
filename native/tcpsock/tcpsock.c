/*
 * tcpsock: the few socket calls Node cannot make, for BGP transport security.
 *
 * Node can neither set TCP_MD5SIG (RFC 2385, a struct option) nor touch a socket before
 * connect()/listen(). This addon creates the TCP socket itself, sets TTL / minimum TTL
 * (RFC 5082 GTSM) and MD5 keys, binds and listens; src/bgp/session/tcpsock.ts then hands the
 * fd to net.Socket / net.Server, which own it from then on (connect, read, write, close).
 *
 * Also one AF_UNIX datagram send (sendUnixDatagram), which Node has no API for: systemd's
 * sd_notify protocol (src/core/sd-notify.ts) is a datagram to $NOTIFY_SOCKET from the daemon's
 * own PID, so a helper process (systemd-notify) cannot stand in for it.
 *
 * Every failing syscall throws a JS Error whose `code` is the errno name (ECONNREFUSED, ...),
 * whose message names the call, and which never contains key material.
 * Linux only (TCP_MD5SIG_EXT, IP_MINTTL, IPV6_MINHOPCOUNT).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_ARGS 4

/* Throws Error{code: "EXXX", errno, syscall}; returns NULL for the caller to return. */
static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value e, code, num, sys, m;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, e, "errno", num);
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, e, "syscall", sys);
  napi_throw(env, e);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/* Fetches exactly n arguments; throws on a count mismatch. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != n) {
    throw_type(env, "wrong number of arguments");
    return 0;
  }
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    throw_type(env, "expected a number");
    return 0;
  }
  return 1;
}

/* Parses a numeric IPv4/IPv6 address into sa for a socket of `family`. An IPv4 address for an
 * AF_INET6 socket becomes ::ffff:a.b.c.d (the kernel keys v4-mapped peers that way). */
static int get_addr(napi_env env, napi_value v, int family, uint16_t port, struct sockaddr_storage *sa,
                    socklen_t *len) {
  char buf[INET6_ADDRSTRLEN + 1];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &n) != napi_ok || n >= sizeof buf - 1) {
    throw_type(env, "expected a numeric IP address string");
    return 0;
  }
  memset(sa, 0, sizeof *sa);
  struct in_addr a4;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      s4->sin_addr = a4;
      *len = sizeof *s4;
      return 1;
    }
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_addr.s6_addr[10] = 0xff;
    s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
    *len = sizeof *s6;
    return 1;
  }
  if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
    if (family != AF_INET6) {
      throw_errno(env, EAFNOSUPPORT, "IPv6 address on an IPv4 socket");
      return 0;
    }
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    *len = sizeof *s6;
    return 1;
  }
  throw_type(env, "not a numeric IP address");
  return 0;
}

static int sock_family(napi_env env, int fd, int *family) {
  socklen_t l = sizeof *family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &l) != 0) {
    throw_errno(env, errno, "getsockopt(SO_DOMAIN)");
    return 0;
  }
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* open(ipVersion: 4 | 6): number — a non-blocking, close-on-exec TCP socket. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], out;
  int32_t ver;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &ver)) return NULL;
  if (ver != 4 && ver != 6) return throw_type(env, "ipVersion must be 4 or 6");
  int fd = socket(ver == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  napi_create_int32(env, fd, &out);
  return out;
}

/* setOption(fd, name: "ttl" | "minttl" | "reuseaddr", value). TTL options go to the level of the
 * socket's family; on an IPv6 socket the IPv4 ones are set too, for v4-mapped peers. */
static napi_value js_set_option(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int32_t fd, val;
  char name[16];
  size_t n;
  int family;
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[2], &val)) return NULL;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) != napi_ok)
    return throw_type(env, "option name must be a string");
  if (!sock_family(env, fd, &family)) return NULL;
  int v4 = 0, v6 = 0, level4 = IPPROTO_IP, level6 = IPPROTO_IPV6;
  const char *what4 = NULL, *what6 = NULL;
  if (strcmp(name, "ttl") == 0) {
    v4 = IP_TTL, v6 = IPV6_UNICAST_HOPS;
    what4 = "setsockopt(IP_TTL)", what6 = "setsockopt(IPV6_UNICAST_HOPS)";
  } else if (strcmp(name, "minttl") == 0) {
    v4 = IP_MINTTL, v6 = IPV6_MINHOPCOUNT;
    what4 = "setsockopt(IP_MINTTL)", what6 = "setsockopt(IPV6_MINHOPCOUNT)";
  } else if (strcmp(name, "reuseaddr") == 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &val, sizeof val) != 0)
      return throw_errno(env, errno, "setsockopt(SO_REUSEADDR)");
    return undefined(env);
  } else {
    return throw_type(env, "unknown option name");
  }
  if (setsockopt(fd, level4, v4, &val, sizeof val) != 0) return throw_errno(env, errno, what4);
  if (family == AF_INET6 && setsockopt(fd, level6, v6, &val, sizeof val) != 0)
    return throw_errno(env, errno, what6);
  return undefined(env);
}

/* setMd5(fd, peer, prefixLen, key: Buffer | null). prefixLen < 0 keys one address; key null or
 * empty deletes the key. On a listening socket this keys future connections from that peer. */
static napi_value js_set_md5(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int32_t fd, plen;
  int family;
  socklen_t alen;
  struct tcp_md5sig md5;
  napi_valuetype kt;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[2], &plen)) return NULL;
  if (!sock_family(env, fd, &family)) return NULL;
  memset(&md5, 0, sizeof md5);
  if (!get_addr(env, argv[1], family, 0, &md5.tcpm_addr, &alen)) return NULL;
  napi_typeof(env, argv[3], &kt);
  if (kt != napi_null && kt != napi_undefined) {
    void *data;
    size_t klen;
    bool isbuf = false;
    napi_is_buffer(env, argv[3], &isbuf);
    if (!isbuf || napi_get_buffer_info(env, argv[3], &data, &klen) != napi_ok)
      return throw_type(env, "key must be a Buffer");
    if (klen > TCP_MD5SIG_MAXKEYLEN) return throw_errno(env, EINVAL, "TCP MD5 key longer than 80 bytes");
    memcpy(md5.tcpm_key, data, klen);
    md5.tcpm_keylen = (uint16_t)klen;
  }
  int opt = TCP_MD5SIG;
  if (plen >= 0) {
    opt = TCP_MD5SIG_EXT;
    md5.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    md5.tcpm_prefixlen = (uint8_t)plen;
  }
  int rc = setsockopt(fd, IPPROTO_TCP, opt, &md5, sizeof md5);
  int err = errno;
  /* Don't leave key bytes on the stack. */
  explicit_bzero(md5.tcpm_key, sizeof md5.tcpm_key);
  if (rc != 0) return throw_errno(env, err, opt == TCP_MD5SIG ? "setsockopt(TCP_MD5SIG)" : "setsockopt(TCP_MD5SIG_EXT)");
  return undefined(env);
}

/* bind(fd, address, port). */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int32_t fd, port;
  int family;
  struct sockaddr_storage sa;
  socklen_t len;
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[2], &port)) return NULL;
  if (port < 0 || port > 65535) return throw_type(env, "port out of range");
  if (!sock_family(env, fd, &family) || !get_addr(env, argv[1], family, (uint16_t)port, &sa, &len)) return NULL;
  if (bind(fd, (struct sockaddr *)&sa, len) != 0) return throw_errno(env, errno, "bind");
  return undefined(env);
}

/* listen(fd, backlog). */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int32_t fd, backlog;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[1], &backlog)) return NULL;
  if (listen(fd, backlog) != 0) return throw_errno(env, errno, "listen");
  return undefined(env);
}

/* close(fd) — only for fds that no net.Socket/net.Server owns yet. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  if (close(fd) != 0) return throw_errno(env, errno, "close");
  return undefined(env);
}

/* sendUnixDatagram(path: string, data: Buffer): number — sends `data` as one datagram to the
 * AF_UNIX SOCK_DGRAM socket at `path` and returns the bytes sent. A path starting with '@' names
 * the abstract namespace (as in $NOTIFY_SOCKET): the '@' becomes the leading NUL byte and the
 * address ends with the name (no trailing NUL). The socket is SOCK_CLOEXEC, opened and closed in
 * this call; the send never blocks the event loop (MSG_DONTWAIT: a full receiver queue throws
 * EAGAIN) and never raises SIGPIPE (MSG_NOSIGNAL). */
static napi_value js_send_unix_datagram(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], out;
  struct sockaddr_un sa;
  /* One byte more than any valid path, so a truncated (too long) string is recognised. */
  char path[sizeof sa.sun_path + 2];
  size_t plen = 0;
  void *data;
  size_t dlen;
  bool isbuf = false;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok)
    return throw_type(env, "path must be a string");
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf || napi_get_buffer_info(env, argv[1], &data, &dlen) != napi_ok)
    return throw_type(env, "data must be a Buffer");
  if (plen == 0 || (path[0] == '@' && plen == 1)) return throw_errno(env, EINVAL, "unix socket path is empty");
  /* A filesystem path needs its NUL inside sun_path; an abstract name may fill it. */
  if (plen > sizeof sa.sun_path - (path[0] == '@' ? 0 : 1))
    return throw_errno(env, ENAMETOOLONG, "unix socket path too long");
  if (memchr(path, '\0', plen) != NULL) return throw_errno(env, EINVAL, "unix socket path contains NUL");
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  else
    alen += 1; /* include the terminating NUL, as the kernel and sd_notify do */
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_UNIX)");
  ssize_t n = sendto(fd, data, dlen, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, alen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, err, "sendto");
  napi_create_int64(env, (int64_t)n, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", js_open},     {"setOption", js_set_option}, {"setMd5", js_set_md5},
             {"bind", js_bind},     {"listen", js_listen},        {"close", js_close},
             {"sendUnixDatagram", js_send_unix_datagram}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
