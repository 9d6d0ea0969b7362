-- lxmpp.xml: XML documents and XMPP streams to stanza tables, in C.
--   xml.parse(s [, opts])  -> stanza | nil, message, condition
--   xml.stream([opts])     -> a stream parser: p:feed(data), p:next(),
--                             p:reset(), p:stop_after(ns, name), p:close()
-- Options: default_ns, max_stanza_size, max_depth, max_attrs, max_children,
-- max_text_size, stamp_lang. See docs/xml.md.
local core = require "lxmpp.core"
require "lxmpp.stanza" -- the methods of the stanzas the parsers build

return {
	parse = core.xml_parse,
	stream = core.xml_stream,
}
