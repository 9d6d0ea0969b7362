"""What the client matrix's Python drivers share: their arguments
(HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B), the lines they
print for spec/interop/clients_spec.lua, and for the asyncio ones, waiting
for a stanza and running the whole under one deadline."""
import asyncio
import logging
import sys

if len(sys.argv) != 9:
    sys.exit("usage: %s HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B" % sys.argv[0])
HOST, PORT, DOMAIN, CAFILE, USER_A, PASS_A, USER_B, PASS_B = sys.argv[1:9]
TIMEOUT = 20  # seconds for each thing awaited

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")


def say(*words):
    print(*words, flush=True)


def step(name, ok, detail=""):
    say("step", name, "ok" if ok else "fail", detail)


def bare(jid):
    return str(jid).split("/")[0]


async def expect(queue, wanted):
    """The first stanza from the asyncio queue that wanted(stanza) accepts,
    or None after the timeout."""
    async def first():
        while True:
            stanza = await queue.get()
            if wanted(stanza):
                return stanza
    try:
        return await asyncio.wait_for(first(), TIMEOUT)
    except asyncio.TimeoutError:
        return None


def run_asyncio(run):
    """Runs the coroutine function run on a new event loop, for a minute at most."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(run(), 60))
    except asyncio.TimeoutError:
        step("run", False, "timeout")
