/* digest.c: hashes, base64 and random bytes for the Lua layer, from the
 * core's OpenSSL and codec: lxmpp.core.digest(name, data),
 * lxmpp.core.base64(data) and lxmpp.core.random_bytes(n).
 * XEP-0115 hashes a verification string and sends it in base64; XEP-0114
 * hashes the stream id and the secret. */
#include "lxl.h"

#include "base64.h"
#include "random.h"

#include <openssl/evp.h>
#include <string.h>

/* The hashes by their IANA names (the names XEP-0115 uses on the wire). */
static const EVP_MD *digest_by_name(const char *name) {
  if (strcmp(name, "sha-1") == 0)
    return EVP_sha1();
  if (strcmp(name, "sha-224") == 0)
    return EVP_sha224();
  if (strcmp(name, "sha-256") == 0)
    return EVP_sha256();
  if (strcmp(name, "sha-384") == 0)
    return EVP_sha384();
  if (strcmp(name, "sha-512") == 0)
    return EVP_sha512();
  return NULL;
}

/* digest(name, data) -> the raw hash | nil when the hash is not known.
 * An unknown name is the peer's word (a caps 'hash' attribute), not a
 * misuse: it answers nil rather than raising. */
static int l_digest(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  const EVP_MD *md = digest_by_name(name);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!md) {
    lua_pushnil(L);
    return 1;
  }
  if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
    return luaL_error(L, "lxmpp.core.digest: %s failed", name);
  lua_pushlstring(L, (const char *)out, n);
  return 1;
}

/* base64(data) -> the padded RFC 4648 encoding. The result is copied into
 * Lua-owned memory before anything that can raise. */
static int l_base64(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  size_t need = base64_encoded_len(len);
  char *out = lua_newuserdatauv(L, need ? need : 1, 0);
  buf b = BUF_INIT;
  if (base64_encode(&b, data, len) != 0) {
    buf_free(&b);
    return luaL_error(L, "lxmpp.core.base64: out of memory");
  }
  if (b.len)
    memcpy(out, b.data, b.len);
  len = b.len;
  buf_free(&b);
  lua_pushlstring(L, out, len);
  return 1;
}

/* random_bytes(n) -> n bytes from OpenSSL's CSPRNG, n from 1 to 1024
 * (salts, secrets, ids: the Lua layer opens no device for them). */
static int l_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 1024, 1, "1 to 1024 bytes");
  unsigned char *out = lua_newuserdatauv(L, (size_t)n, 0);
  if (random_bytes(NULL, NULL, out, (size_t)n) != 0)
    return luaL_error(L, "lxmpp.core.random_bytes: no random bytes");
  lua_pushlstring(L, (const char *)out, (size_t)n);
  return 1;
}

void lxl_open_digest(lua_State *L) {
  static const luaL_Reg fns[] = {{"digest", l_digest},
                                 {"base64", l_base64},
                                 {"random_bytes", l_random_bytes},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
