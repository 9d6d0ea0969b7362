-- make demo, over real sockets: the tiny server of examples/tiny_server.lua
-- listens on 127.0.0.1, and lxmpp.client connects to it through the cqueues
-- transport, in one process: juliet's client, romeo's client (a bot that
-- answers), and the server are coroutines of one cqueues controller. The
-- XML of juliet's stream is printed as it is written, C: for her client,
-- S: for the server (inside TLS, as plaintext).
package.path = "examples/?.lua;" .. package.path
local cqueues = require "cqueues"
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"
local tiny = require "tiny_server"

local cq = cqueues.new()
local server = tiny.start {
	cq = cq, domain = "im.example.com",
	accounts = { juliet = "r0m30myr0m30", romeo = "wherefore art thou" },
}
print(("-- the server listens on %s port %d"):format(server.host, server.port))

local function connect(user, trace)
	return assert(client.connect {
		jid = user .. "@im.example.com", password = server.accounts[user],
		host = server.host, port = server.port,
		tls = { ca = server.certificate }, -- trust the server's throwaway certificate
		trace = trace,
	})
end

local finished = false
cq:wrap(function()
	-- romeo: a bot in a few lines; its handler runs in its own coroutine
	local romeo = connect("romeo")
	romeo:on("message", function(m)
		romeo:send(st.message({ to = m.attr.from, type = "chat" }, "Neither, fair saint, if either thee dislike."))
	end)
	cq:wrap(function() romeo:loop() end)

	-- what the server writes arrives in pieces: shown a read at a time
	local incoming = {}
	local function show_incoming()
		if #incoming > 0 then io.write("S: ", table.concat(incoming), "\n") end
		incoming = {}
	end
	local juliet = connect("juliet", function(direction, xml)
		if direction == "received" then
			incoming[#incoming + 1] = xml
		else
			show_incoming()
			io.write("C: ", xml, "\n")
		end
	end)
	show_incoming()
	print(("-- juliet is %s: %s, %s%s"):format(juliet.jid, juliet:tls_info().version, juliet.sasl.mechanism,
		juliet.sasl.channel_binding and (" bound to " .. juliet.sasl.channel_binding) or ""))
	assert(juliet:send(st.message({ to = romeo.jid, type = "chat", id = "ju2ba41c" },
		"Art thou not Romeo, and a Montague?")))
	local answer = assert(juliet:receive(5))
	show_incoming()
	print("-- juliet got: " .. answer:get_child_text("body"))
	assert(juliet:close())
	show_incoming()
	assert(romeo:close())
	finished = true
end)

while not finished do assert(cq:step(1)) end
server:stop()
