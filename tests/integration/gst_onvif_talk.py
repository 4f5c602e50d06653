#!/usr/bin/python3
"""GStreamer's own ONVIF client (rtspsrc backchannel=onvif) talking to a camera.

Connects to URL, pushes WAV (in real time, encoded as the camera's SDP asks: Opus, PCMU, PCMA or
L16, the codec rtspsrc negotiated for the backchannel) into the backchannel the camera offers,
and writes the camera's microphone track, decoded, as raw 48 kHz
mono float32 to --mic-out. The push starts once the first microphone buffer arrives (the session
is PLAYing then: in 1.22 a push before that returns OK and goes nowhere). Exit 0 when the WAV has
been pushed, 1 on an error from GStreamer, 2 on bad usage.
"""
import argparse
import ctypes
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# GStreamer 1.22's push-backchannel-sample drops a reference on the sample it is given, which the
# Python wrapper also owns: take one more before each push (via the C API; the bindings hide ref()).
_gst = ctypes.CDLL("libgstreamer-1.0.so.0")
_gst.gst_mini_object_ref.argtypes = [ctypes.c_void_p]
_gst.gst_mini_object_ref.restype = ctypes.c_void_p


def encoder_for(caps):
    """The encoder and payloader for the backchannel's caps (the first codec of the camera's SDP)."""
    name = caps.get_string("encoding-name").upper()
    pt = caps.get_int("payload")[1]
    rate = caps.get_int("clock-rate")[1]
    if name == "OPUS":
        return ("audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=64000 frame-size=20 ! "
                f"rtpopuspay pt={pt}")
    if name in ("PCMU", "PCMA"):
        enc, pay = ("mulawenc", "rtppcmupay") if name == "PCMU" else ("alawenc", "rtppcmapay")
        return f"audio/x-raw,format=S16LE,rate={rate},channels=1 ! {enc} ! {pay} pt={pt}"
    if name == "L16":
        return f"audio/x-raw,format=S16BE,rate={rate},channels=1 ! rtpL16pay pt={pt}"
    raise SystemExit(f"gst_onvif_talk: the camera offers {name}, which this script cannot send")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--wav", required=True)
    ap.add_argument("--mic-out", default="")
    ap.add_argument("--protocols", default="udp", choices=["udp", "tcp"])
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    state = {"stream": None, "pushed": 0, "started": False, "error": None, "caps": None}

    pipe = Gst.Pipeline.new("client")
    src = Gst.ElementFactory.make("rtspsrc")
    src.set_property("location", args.url)
    src.set_property("backchannel", "onvif")
    src.set_property("protocols", args.protocols)
    src.set_property("latency", 100)
    if args.user:
        src.set_property("user-id", args.user)
        src.set_property("user-pw", args.password)
    pipe.add(src)

    back_parts = {}

    def on_select(_src, num, caps):
        if caps.get_structure(0).has_field("a-sendonly"):
            state["stream"] = num
            state["caps"] = caps
        return True

    def on_sample(sink):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        _gst.gst_mini_object_ref(hash(sample))
        ret = src.emit("push-backchannel-sample", state["stream"], sample)
        state["pushed"] += 1
        return ret

    def start_talking():
        if state["started"]:
            return False
        state["started"] = True
        if state["stream"] is None:
            state["error"] = "the camera offered no backchannel"
            loop.quit()
            return False
        back = Gst.parse_launch(
            f'filesrc location="{args.wav}" ! wavparse ! audioconvert ! audioresample ! '
            + encoder_for(state["caps"].get_structure(0)) + " ! appsink name=out emit-signals=true sync=true")
        back_parts["pipe"] = back
        watch(back)
        out = back.get_by_name("out")
        out.connect("new-sample", on_sample)
        back.set_state(Gst.State.PLAYING)
        print(f"gst_onvif_talk: backchannel {state['caps'].get_structure(0).get_string('encoding-name')}", flush=True)
        return False

    def on_pad(_src, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        if caps.get_structure(0).get_string("encoding-name") != "OPUS":
            return
        chain = Gst.parse_bin_from_description(
            "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! "
            + (f'filesink location="{args.mic_out}"' if args.mic_out else "fakesink"), True)
        pipe.add(chain)
        chain.sync_state_with_parent()
        pad.link(chain.get_static_pad("sink"))

        def first_buffer(_pad, _info):
            GLib.idle_add(start_talking)
            return Gst.PadProbeReturn.REMOVE
        pad.add_probe(Gst.PadProbeType.BUFFER, first_buffer)

    src.connect("select-stream", on_select)
    src.connect("pad-added", on_pad)

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            state["error"] = f"{err.message} ({dbg})"
            loop.quit()
        elif msg.type == Gst.MessageType.EOS and msg.src == back_parts.get("pipe"):
            loop.quit()

    def watch(p):
        bus = p.get_bus()
        bus.add_signal_watch()
        bus.connect("message", on_message)
    watch(pipe)

    def give_up():
        state["error"] = state["error"] or f"timed out after {args.timeout} s (pushed {state['pushed']} packets)"
        loop.quit()
        return False
    GLib.timeout_add(int(args.timeout * 1000), give_up)

    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    # Stopping: rtspsrc sends PAUSE, then TEARDOWN.
    if "pipe" in back_parts:
        back_parts["pipe"].set_state(Gst.State.NULL)
    pipe.set_state(Gst.State.NULL)
    print(f"gst_onvif_talk: pushed {state['pushed']} RTP packets into stream {state['stream']}", flush=True)
    if state["error"]:
        print(f"gst_onvif_talk: {state['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
