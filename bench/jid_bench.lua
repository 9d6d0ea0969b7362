-- jid_bench.lua: JIDs prepared per second (CPU time), lxmpp.jid.prep side by
-- side with Prosody's util.jid.prep on the same inputs in the same process.
-- Prints a Markdown table. Run: make bench, or with LUA_PATH/LUA_CPATH set
-- as the Makefile sets them: lua5.4 bench/jid_bench.lua
local jid = require "lxmpp.jid"

local prosody = require "support.prosody"("util.jid")

local inputs = {
	{ "ASCII", {
		"juliet@example.com",
		"Romeo@Montague.LIT/Orchard",
		"room@conference.example.org/Nick Name",
		"example.com",
		"user123@xmpp.example.net/mobile-4f2a",
	} },
	{ "non-ASCII localpart and resourcepart", {
		"\239\188\170\239\189\149\239\189\140\239\189\137\239\189\133\239\189\148@example.com",
		"ΟΔΟΣ@example.gr/Küche",
		"fußball@example.de/⚽",
		"ñandú@example.es/café",
		"Σ@example.jp/資料",
	} },
	{ "IDN domainpart (U-labels)", {
		"juliet@münchen.de",
		"ΟΔΟΣ@παράδειγμα.δοκιμή/Küche",
		"fußball@faß.de/⚽",
		"ñandú@español.example/café",
		"σ@例え.テスト/資料",
	} },
}

-- JIDs per second of CPU time: runs `prep` over the inputs for at least
-- half a second. Every input must prepare.
local function rate(prep, list)
	for _, s in ipairs(list) do
		assert(prep(s), s)
	end
	local rounds, start = 0, os.clock()
	repeat
		for _ = 1, 200 do
			for i = 1, #list do prep(list[i]) end
		end
		rounds = rounds + 200
	until os.clock() - start >= 0.5
	return rounds * #list / (os.clock() - start)
end

print("| inputs | lxmpp.jid.prep (JIDs/s) | Prosody util.jid.prep (JIDs/s) | lxmpp / Prosody |")
print("|---|---:|---:|---:|")
for _, set in ipairs(inputs) do
	local kind, list = set[1], set[2]
	local ours = rate(jid.prep, list)
	local theirs = prosody and rate(prosody.prep, list)
	print(("| %s | %.0f | %s | %s |"):format(kind, ours,
		theirs and ("%.0f"):format(theirs) or "n/a (Prosody not installed)",
		theirs and ("%.2f"):format(ours / theirs) or "n/a"))
end
