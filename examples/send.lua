-- Sends one message and exits:
--   lua5.4 examples/send.lua FROM_JID TO_JID "the message"
-- The password comes from XMPP_PASSWORD, else a prompt. XMPP_HOST,
-- XMPP_PORT and XMPP_CAFILE override where to connect and whom to trust
-- (by default: DNS, and the system's certificate authorities).
local client = require "lxmpp.client"

local from, to, text = arg[1], arg[2], arg[3]
if not (from and to and text) then
	io.stderr:write("usage: send.lua FROM_JID TO_JID MESSAGE\n")
	os.exit(2)
end

local function prompt(question)
	io.stderr:write(question)
	os.execute("stty -echo 2>/dev/null")
	local answer = io.read("*l")
	os.execute("stty echo 2>/dev/null")
	io.stderr:write("\n")
	return answer
end

local c, err = client.connect {
	jid = from,
	password = os.getenv("XMPP_PASSWORD") or prompt("password for " .. from .. ": "),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
}
if not c then
	io.stderr:write("send.lua: ", err, "\n")
	os.exit(1)
end
local ok, why = c:message(to, text)
c:close() -- the closing handshake (on Lua 5.4, `local c <close>` does it)
if not ok then
	io.stderr:write("send.lua: ", why, "\n")
	os.exit(1)
end
