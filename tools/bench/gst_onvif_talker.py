#!/usr/bin/python3
"""GStreamer's ONVIF client (rtspsrc backchannel=onvif) as a push-to-talk talker for ptt-bench.

Connects to URL, opens the backchannel the camera offers and sends what the JACK port
CLIENT:in_* hears into it, encoded as the camera's SDP asks (Opus, PCMU, PCMA or L16, 20 ms
packets), while the talk key is down. The key comes as "down"/"up" lines on --keys (a FIFO:
pttcam-jack-io --keys-to writes it at known JACK samples). A valve in front of the encoder
drops the audio while the key is up, so the RTP stream looks like the client's own between
presses: timestamps jump, sequence numbers continue.

Prints "gst_onvif_talker: ready" once the camera has answered PLAY (rtspsrc has opened the
backchannel) and the JACK port is being opened. --events gets key_down/key_up with their monotonic
times (microseconds); --summary gets this process's CPU and memory. Stops on SIGINT or SIGTERM
(rtspsrc sends TEARDOWN). Exit 0, 1 on an error from GStreamer, 2 on bad usage.
"""
import argparse
import ctypes
import json
import os
import resource
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# GStreamer 1.22's push-backchannel-sample drops a reference on the sample it is given, which the
# Python wrapper also owns: take one more before each push (tests/integration/gst_onvif_talk.py).
_gst = ctypes.CDLL("libgstreamer-1.0.so.0")
_gst.gst_mini_object_ref.argtypes = [ctypes.c_void_p]
_gst.gst_mini_object_ref.restype = ctypes.c_void_p

PTIME_NS = 20_000_000
# The JACK buffers ptt-bench gives its GStreamer sender (4 periods of 128 samples).
JACK_SOURCE = "jackaudiosrc connect=0 client-name={name} buffer-time=10667 latency-time=2667"


def now_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def encoder_for(caps):
    """Encoder and payloader for the backchannel's caps, 20 ms packets."""
    name = caps.get_string("encoding-name").upper()
    pt = caps.get_int("payload")[1]
    rate = caps.get_int("clock-rate")[1]
    if name == "OPUS":
        return f"audio/x-raw,rate=48000 ! opusenc bitrate=24000 frame-size=20 ! rtpopuspay pt={pt}"
    ptime = f"min-ptime={PTIME_NS} max-ptime={PTIME_NS}"
    if name in ("PCMU", "PCMA"):
        enc, pay = ("mulawenc", "rtppcmupay") if name == "PCMU" else ("alawenc", "rtppcmapay")
        return f"audio/x-raw,format=S16LE,rate={rate} ! {enc} ! {pay} pt={pt} {ptime}"
    if name == "L16":
        return f"audio/x-raw,format=S16BE,rate={rate} ! rtpL16pay pt={pt} {ptime}"
    raise SystemExit(f"gst_onvif_talker: the camera offers {name}, which this script cannot send")


class Talker:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.stream = None
        self.caps = None
        self.back = None
        self.gate = None
        self.error = None
        self.pushed = 0
        self.events = open(args.events, "w") if args.events else None
        self.src = Gst.ElementFactory.make("rtspsrc")
        self.src.set_property("location", args.url)
        self.src.set_property("backchannel", "onvif")
        self.src.set_property("protocols", args.protocols)
        # A camera without a microphone sends nothing: no UDP timeout (rtspsrc would give up after 5 s).
        self.src.set_property("timeout", 0)
        self.pipe = Gst.Pipeline.new("client")
        self.pipe.add(self.src)
        self.src.connect("select-stream", self.on_select)
        self.src.connect("pad-added", self.on_pad)
        self.watch(self.pipe)

    def log(self, event, **fields):
        if self.events:
            self.events.write(json.dumps({"t_us": now_us(), "event": event, **fields}) + "\n")
            self.events.flush()

    def on_select(self, _src, num, caps):
        if caps.get_structure(0).has_field("a-sendonly"):
            self.stream, self.caps = num, caps
            GLib.idle_add(self.start_backchannel)
        return True

    def on_pad(self, _src, pad):
        # The camera's own media (its microphone, if it has one): played nowhere.
        sink = Gst.ElementFactory.make("fakesink")
        self.pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    def on_sample(self, sink):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        _gst.gst_mini_object_ref(hash(sample))
        self.pushed += 1
        return self.src.emit("push-backchannel-sample", self.stream, sample)

    def start_backchannel(self):
        if self.back is not None:
            return False
        self.back = Gst.parse_launch(
            JACK_SOURCE.format(name=self.args.jack_name) + " ! audio/x-raw,channels=1 ! valve name=gate drop=true ! "
            "audioconvert ! audioresample ! " + encoder_for(self.caps.get_structure(0))
            + " ! appsink name=out emit-signals=true sync=false")
        self.gate = self.back.get_by_name("gate")
        self.back.get_by_name("out").connect("new-sample", self.on_sample)
        self.watch(self.back)
        self.back.set_state(Gst.State.PLAYING)
        return False

    def on_message(self, _bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.error = f"{err.message} ({dbg})"
            self.loop.quit()

    def check_ready(self):
        """Polled: rtspsrc PLAYING (the camera answered PLAY) and the backchannel's pipeline on its
        way to PLAYING. That pipeline completes its state change only once audio flows, and
        jackaudiosrc sends none until something is connected to its port (jack-io connects it)."""
        if self.back is None or self.pipe.get_state(0)[1] != Gst.State.PLAYING:
            return True
        print("gst_onvif_talker: ready, backchannel "
              f"{self.caps.get_structure(0).get_string('encoding-name')}", flush=True)
        return False

    def watch(self, p):
        bus = p.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)

    def on_key(self, fd, _cond):
        for line in os.read(fd, 4096).decode(errors="replace").split():
            if self.gate is None or line not in ("down", "up"):
                continue
            self.gate.set_property("drop", line == "up")
            self.log("key_down" if line == "down" else "key_up")
        return True

    def run(self):
        # O_RDWR: the FIFO never reads as closed, whoever writes to it and however often.
        fd = os.open(self.args.keys, os.O_RDWR | os.O_NONBLOCK)
        GLib.io_add_watch(fd, GLib.IO_IN, self.on_key)
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: self.loop.quit() or False)
        GLib.timeout_add(int(self.args.timeout * 1000), self.give_up)
        GLib.timeout_add(20, self.check_ready)
        self.log("client_start")
        self.pipe.set_state(Gst.State.PLAYING)
        self.loop.run()
        if self.back is not None:
            self.back.set_state(Gst.State.NULL)
        self.pipe.set_state(Gst.State.NULL)  # rtspsrc: TEARDOWN
        self.write_summary()
        print(f"gst_onvif_talker: pushed {self.pushed} RTP packets", flush=True)
        if self.error:
            print(f"gst_onvif_talker: {self.error}", file=sys.stderr)
            return 1
        return 0

    def give_up(self):
        if self.back is None:
            self.error = f"no backchannel within {self.args.timeout} s"
            self.loop.quit()
        return False

    def write_summary(self):
        if not self.args.summary:
            return
        u = resource.getrusage(resource.RUSAGE_SELF)
        summary = {"cpu_user_s": u.ru_utime, "cpu_system_s": u.ru_stime, "max_rss_kb": u.ru_maxrss,
                   "packets_pushed": self.pushed}
        with open(self.args.summary, "w") as f:
            f.write(json.dumps(summary, indent=2) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--keys", required=True, help="FIFO of down/up lines")
    ap.add_argument("--jack-name", default="onvif-talker", help="JACK client name (its ports: NAME:in_*)")
    ap.add_argument("--protocols", default="udp", choices=["udp", "tcp"])
    ap.add_argument("--events", default="")
    ap.add_argument("--summary", default="")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to get a backchannel")
    args = ap.parse_args()
    Gst.init(None)
    return Talker(args).run()


if __name__ == "__main__":
    sys.exit(main())
