-- lxmpp.xml: XML documents and XMPP streams to stanza tables, in C.
--   xml.parse(s [, opts])  -> stanza | nil, message, condition
--   xml.stream([opts])     -> a stream parser: p:feed(data), p:next(),
--                             p:reset(), p:stop_after(ns, name), p:close()
-- Options: default_ns, max_stanza_size, max_depth, max_attrs, max_children,
-- max_text_size, stamp_lang. See docs/xml.md.
local core = require "lxmpp.core"
require "lxmpp.stanza" -- the methods of the stanzas the parsers build

---@class lxmpp.xml.options
---@field default_ns? string the namespace of top-level elements without one ("jabber:client")
---@field max_stanza_size? integer
---@field max_depth? integer
---@field max_attrs? integer
---@field max_children? integer
---@field max_text_size? integer
---@field max_parser_memory? integer
---@field stamp_lang? boolean

---A stream parser (docs/xml.md); closed by p:close(), `<close>` or the collector.
---@class lxmpp.xml.stream
---@field feed fun(self: lxmpp.xml.stream, data: string): boolean|nil, string?, string? true, or nil, message, condition
---@field next fun(self: lxmpp.xml.stream): ("open"|"stanza"|"close")?, any the next event and its value (attr or stanza)
---@field reset fun(self: lxmpp.xml.stream)
---@field stop_after fun(self: lxmpp.xml.stream, ns: string, name: string)
---@field close fun(self: lxmpp.xml.stream)

---@class lxmpp.xml
---@field parse fun(s: string, opts?: lxmpp.xml.options): lxmpp.stanza|nil, string?, string? one document as a stanza, or nil, message, condition
---@field stream fun(opts?: lxmpp.xml.options): lxmpp.xml.stream an incremental parser of an XMPP stream
local xml = {
	parse = core.xml_parse,
	stream = core.xml_stream,
}
return xml
