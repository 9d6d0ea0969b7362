/* fd.c: lxmpp.core.fd(fd): a connected socket as a bare descriptor for the
 * Lua layer's own loops: read, write, close, and pollable by cqueues
 * (pollfd, events). It holds no buffer: lxmpp.server keeps one per session
 * instead of a cqueues socket, which allocates 4 KiB input and output
 * buffers up front and keeps what they grow to (9 to 14 KB a socket).
 *   local f = core.fd(sock:pollfd())  -- a duplicate; close the original
 *   f:read(max) -> bytes | nil, "again" | nil, "eof" | nil, message
 *   f:write(s [, i [, j]]) -> bytes written (0: it would block) | nil, message
 *   f:pollfd() -> the descriptor; f:events() -> "r"
 *   f:close() (also __gc and __close; when a cqueues controller polled it,
 *   cqueues.cancel(f:pollfd()) first, or the controller keeps a stale
 *   descriptor) */
#include "lxl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FD_MT "lxmpp.fd"

/* What one read takes at most. */
#define READ_MAX 16384

typedef struct {
  int fd; /* -1 once closed */
} lfd;

static lfd *check_fd(lua_State *L) {
  lfd *f = luaL_checkudata(L, 1, FD_MT);
  if (f->fd < 0)
    luaL_error(L, "lxmpp.fd: closed");
  return f;
}

static int fail_errno(lua_State *L, int e) {
  lua_pushnil(L);
  lua_pushstring(L, strerror(e));
  return 2;
}

/* core.fd(fd) -> a non-blocking duplicate of fd, closed on exec. */
static int l_new(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 0x7fffffff, 1, "not a descriptor");
  lfd *f = lua_newuserdatauv(L, sizeof *f, 0);
  f->fd = -1;
  luaL_setmetatable(L, FD_MT);
  int fd = fcntl((int)n, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return fail_errno(L, errno);
  f->fd = fd;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return fail_errno(L, errno); /* the userdata's __gc closes fd */
  return 1;
}

static int l_read(lua_State *L) {
  lfd *f = check_fd(L);
  lua_Integer max = luaL_optinteger(L, 2, READ_MAX);
  luaL_argcheck(L, max > 0, 2, "must be positive");
  char buf[READ_MAX];
  ssize_t n;
  do
    n = recv(f->fd, buf, max < READ_MAX ? (size_t)max : READ_MAX, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
  }
  lua_pushnil(L);
  if (n == 0)
    lua_pushliteral(L, "eof");
  else if (errno == EAGAIN || errno == EWOULDBLOCK)
    lua_pushliteral(L, "again");
  else
    lua_pushstring(L, strerror(errno));
  return 2;
}

static int l_write(lua_State *L) {
  lfd *f = check_fd(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_Integer i = luaL_optinteger(L, 3, 1), j = luaL_optinteger(L, 4, -1);
  if (j < 0)
    j += (lua_Integer)len + 1;
  if (j > (lua_Integer)len)
    j = (lua_Integer)len;
  luaL_argcheck(L, i >= 1, 3, "must be at least 1");
  if (i > j) {
    lua_pushinteger(L, 0);
    return 1;
  }
  ssize_t n;
  do /* no SIGPIPE: a peer that went away is an error result */
    n = send(f->fd, s + i - 1, (size_t)(j - i + 1), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    return fail_errno(L, errno);
  lua_pushinteger(L, n < 0 ? 0 : (lua_Integer)n);
  return 1;
}

static int l_pollfd(lua_State *L) {
  lua_pushinteger(L, check_fd(L)->fd);
  return 1;
}

static int l_events(lua_State *L) {
  check_fd(L);
  lua_pushliteral(L, "r");
  return 1;
}

static int l_close(lua_State *L) {
  lfd *f = luaL_checkudata(L, 1, FD_MT);
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  return 0;
}

static int l_tostring(lua_State *L) {
  lfd *f = luaL_checkudata(L, 1, FD_MT);
  if (f->fd < 0)
    lua_pushliteral(L, "lxmpp.fd (closed)");
  else
    lua_pushfstring(L, "lxmpp.fd %d", f->fd);
  return 1;
}

void lxl_open_fd(lua_State *L) {
  static const luaL_Reg methods[] = {{"read", l_read},     {"write", l_write},
                                     {"pollfd", l_pollfd}, {"events", l_events},
                                     {"close", l_close},   {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", l_close},
                                  {"__close", l_close},
                                  {"__tostring", l_tostring},
                                  {NULL, NULL}};
  lxl_class(L, FD_MT, methods, meta);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "fd");
}
