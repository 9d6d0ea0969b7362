rockspec_format = "3.0"
package = "lxmpp"
version = "scm-1"
source = {
	url = "git+https://example.invalid/lxmpp.git",
}
description = {
	summary = "XMPP core library in C with a binding for Lua 5.1 to 5.4 and LuaJIT",
	detailed = [[
lxmpp does RFC 6120 stream negotiation (STARTTLS, SASL, bind) for clients
and servers, a bounded streaming XML parser and a validating serializer,
RFC 7622 JIDs, and gives Lua coroutine-friendly connections and stanzas in
the table shape Prosody uses.]],
	license = "MIT",
}
-- Lua 5.1 (and LuaJIT 2.1), 5.2, 5.3 and 5.4. lxmpp.client needs a
-- transport: cqueues (its default) or LuaSocket (transport = "luasocket"),
-- whichever the host has; neither is needed for the rest.
dependencies = {
	"lua >= 5.1, < 5.5",
}
-- Found through EXPAT_DIR, OPENSSL_DIR, IDN2_DIR and UNISTRING_DIR (or their
-- _INCDIR and _LIBDIR), e.g. luarocks make OPENSSL_DIR=/opt/openssl.
external_dependencies = {
	EXPAT = { header = "expat.h", library = "expat" },
	OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
	IDN2 = { header = "idn2.h", library = "idn2" },
	UNISTRING = { header = "unistr.h", library = "unistring" },
}
build = {
	type = "builtin",
	modules = {
		["lxmpp.core"] = {
			sources = {
				"csrc/arena.c",
				"csrc/base64.c",
				"csrc/buf.c",
				"csrc/conn.c",
				"csrc/conn_events.c",
				"csrc/conn_io.c",
				"csrc/conn_opts.c",
				"csrc/digest_md5.c",
				"csrc/error.c",
				"csrc/jid.c",
				"csrc/precis.c",
				"csrc/random.c",
				"csrc/sasl.c",
				"csrc/sasl_common.c",
				"csrc/scram.c",
				"csrc/serialize.c",
				"csrc/stanza.c",
				"csrc/streamerror.c",
				"csrc/streamfeatures.c",
				"csrc/tls.c",
				"csrc/tlscert.c",
				"csrc/xml.c",
				"csrc/xmlchar.c",
				"csrc/xmlscan.c",
				"csrc/lua/conn.c",
				"csrc/lua/core.c",
				"csrc/lua/digest.c",
				"csrc/lua/fd.c",
				"csrc/lua/jid.c",
				"csrc/lua/lxl.c",
				"csrc/lua/sasl.c",
				"csrc/lua/stanza.c",
				"csrc/lua/tls.c",
				"csrc/lua/xml.c",
			},
			defines = { "_POSIX_C_SOURCE=200809L" },
			incdirs = {
				"csrc", "$(EXPAT_INCDIR)", "$(OPENSSL_INCDIR)",
				"$(IDN2_INCDIR)", "$(UNISTRING_INCDIR)",
			},
			libdirs = {
				"$(EXPAT_LIBDIR)", "$(OPENSSL_LIBDIR)",
				"$(IDN2_LIBDIR)", "$(UNISTRING_LIBDIR)",
			},
			libraries = { "expat", "ssl", "crypto", "idn2", "unistring" },
		},
		["lxmpp"] = "lua/lxmpp/init.lua",
		["lxmpp.client"] = "lua/lxmpp/client.lua",
		["lxmpp.clock"] = "lua/lxmpp/clock.lua",
		["lxmpp.compat"] = "lua/lxmpp/compat.lua",
		["lxmpp.component"] = "lua/lxmpp/component.lua",
		["lxmpp.ext"] = "lua/lxmpp/ext.lua",
		["lxmpp.ext.adhoc"] = "lua/lxmpp/ext/adhoc.lua",
		["lxmpp.ext.caps"] = "lua/lxmpp/ext/caps.lua",
		["lxmpp.ext.disco"] = "lua/lxmpp/ext/disco.lua",
		["lxmpp.ext.forms"] = "lua/lxmpp/ext/forms.lua",
		["lxmpp.ext.muc"] = "lua/lxmpp/ext/muc.lua",
		["lxmpp.ext.time"] = "lua/lxmpp/ext/time.lua",
		["lxmpp.ext.version"] = "lua/lxmpp/ext/version.lua",
		["lxmpp.jid"] = "lua/lxmpp/jid.lua",
		["lxmpp.resolve"] = "lua/lxmpp/resolve.lua",
		["lxmpp.sasl"] = "lua/lxmpp/sasl.lua",
		["lxmpp.stanza"] = "lua/lxmpp/stanza.lua",
		["lxmpp.server"] = "lua/lxmpp/server.lua",
		["lxmpp.server.accounts"] = "lua/lxmpp/server/accounts.lua",
		["lxmpp.server.certs"] = "lua/lxmpp/server/certs.lua",
		["lxmpp.server.events"] = "lua/lxmpp/server/events.lua",
		["lxmpp.server.limits"] = "lua/lxmpp/server/limits.lua",
		["lxmpp.server.module"] = "lua/lxmpp/server/module.lua",
		["lxmpp.server.plugins.disco"] = "lua/lxmpp/server/plugins/disco.lua",
		["lxmpp.server.plugins.offline"] = "lua/lxmpp/server/plugins/offline.lua",
		["lxmpp.server.plugins.ping"] = "lua/lxmpp/server/plugins/ping.lua",
		["lxmpp.server.plugins.presence"] = "lua/lxmpp/server/plugins/presence.lua",
		["lxmpp.server.plugins.roster"] = "lua/lxmpp/server/plugins/roster.lua",
		["lxmpp.server.plugins.version"] = "lua/lxmpp/server/plugins/version.lua",
		["lxmpp.server.random"] = "lua/lxmpp/server/random.lua",
		["lxmpp.server.rosters"] = "lua/lxmpp/server/rosters.lua",
		["lxmpp.server.serialize"] = "lua/lxmpp/server/serialize.lua",
		["lxmpp.server.session"] = "lua/lxmpp/server/session.lua",
		["lxmpp.server.sm"] = "lua/lxmpp/server/sm.lua",
		["lxmpp.server.storage"] = "lua/lxmpp/server/storage.lua",
		["lxmpp.server.storage.memory"] = "lua/lxmpp/server/storage/memory.lua",
		["lxmpp.server.storage.sqlite3"] = "lua/lxmpp/server/storage/sqlite3.lua",
		["lxmpp.stream"] = "lua/lxmpp/stream.lua",
		["lxmpp.sm"] = "lua/lxmpp/sm.lua",
		["lxmpp.tasks"] = "lua/lxmpp/tasks.lua",
		["lxmpp.transport.base"] = "lua/lxmpp/transport/base.lua",
		["lxmpp.transport.cqueues"] = "lua/lxmpp/transport/cqueues.lua",
		["lxmpp.transport.luasocket"] = "lua/lxmpp/transport/luasocket.lua",
		["lxmpp.xml"] = "lua/lxmpp/xml.lua",
		-- Prosody's plugin loader finds it as share/lua/5.4/mod_lxmpp.lua
		-- under a plugin path: plugin_paths = { "<the rock tree>" }
		["mod_lxmpp"] = "prosody/mod_lxmpp.lua",
	},
}
