/* core.c: the module lxmpp.core, assembled from the binding's files. */
#include "lxl.h"

#define LXL_EXPORT __attribute__((visibility("default")))

LXL_EXPORT int luaopen_lxmpp_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, LXMPP_VERSION);
  lua_setfield(L, -2, "version");
  lxl_open_jid(L);
  lxl_open_stanza(L);
  lxl_open_xml(L);
  lxl_open_tls(L);
  lxl_open_stream(L);
  lxl_open_sasl(L);
  lxl_open_digest(L);
  lxl_open_fd(L);
  return 1;
}
