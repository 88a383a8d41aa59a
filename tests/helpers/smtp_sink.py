"""A real SMTP server on loopback for the mail tests (aiosmtpd): each accepted message is written
to DIR/<n>.eml with its envelope recipients in DIR/<n>.rcpt. Stops on SIGTERM."""
import argparse, asyncio, os, signal, itertools
from aiosmtpd.controller import Controller

class Sink:
    refuse = False

    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1 + len([f for f in os.listdir(directory) if f.endswith(".eml")]))

    stall = False

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            # Never answer the DATA: the client times out, and this message is never delivered.
            await asyncio.sleep(3600)
        if self.refuse:
            return "554 5.7.1 Message refused by the test server"
        n = next(self.counter)
        with open(os.path.join(self.directory, f"{n:04}.eml"), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(self.directory, f"{n:04}.rcpt"), "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--refuse", action="store_true", help="answer 554 after DATA")
ap.add_argument("--stall", action="store_true", help="never answer after DATA")
a = ap.parse_args()
os.makedirs(a.dir, exist_ok=True)
sink = Sink(a.dir)
sink.refuse = a.refuse
sink.stall = a.stall
controller = Controller(sink, hostname="127.0.0.1", port=a.port)
controller.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
