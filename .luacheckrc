std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
-- bench/gen_corpus.lua is the team's shared corpus generator, kept as is
-- so that its output matches the published checksum.
exclude_files = { "build", "build-*", "luarocks-tree", "bench/gen_corpus.lua" }
