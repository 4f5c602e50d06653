#!/usr/bin/python3
"""Writes the SDP GStreamer itself derives from rtpopuspay's caps, the way gst-rtsp-server builds
one: a pipeline negotiates `audiotestsrc ! opusenc ! rtpopuspay [pt=N]`, and libgstsdp's
gst_sdp_media_set_media_from_caps() turns the payloader's caps into the m= section. Needs
python3-gi and gir1.2-gstreamer-1.0 (run with /usr/bin/python3).

Usage: make_gst_sdp.py OUT.sdp [--pt N] [--channels 1|2] [--address A] [--port P]
"""
import argparse
import ctypes

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def payloader_caps(pt, channels):
    desc = (f"audiotestsrc num-buffers=5 ! audio/x-raw,channels={channels} ! opusenc ! "
            "rtpopuspay name=pay" + (f" pt={pt}" if pt is not None else "") + " ! fakesink")
    pipeline = Gst.parse_launch(desc)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    caps = pipeline.get_by_name("pay").get_static_pad("src").get_current_caps()
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR or caps is None:
        raise SystemExit("pipeline failed: " + (msg.parse_error()[0].message if msg else "timeout"))
    return caps


def sdp_text(caps_string, family, address, port):
    # libgstsdp through ctypes: PyGObject's binding of gst_sdp_media_set_media_from_caps() passes an
    # uninitialised media (GStreamer 1.22) and crashes.
    sdp = ctypes.CDLL("libgstsdp-1.0.so.0")
    gst = ctypes.CDLL("libgstreamer-1.0.so.0")
    glib = ctypes.CDLL("libglib-2.0.so.0")
    ptr = ctypes.c_void_p
    gst.gst_caps_from_string.restype = ptr
    sdp.gst_sdp_message_as_text.restype = ptr
    glib.g_free.argtypes = [ptr]
    caps = ptr(gst.gst_caps_from_string(caps_string.encode()))
    msg, media = ptr(), ptr()
    sdp.gst_sdp_message_new(ctypes.byref(msg))
    sdp.gst_sdp_media_new(ctypes.byref(media))
    if sdp.gst_sdp_media_set_media_from_caps(caps, media) != 0:
        raise SystemExit("gst_sdp_media_set_media_from_caps failed for " + caps_string)
    sdp.gst_sdp_media_set_media(media, b"audio")
    sdp.gst_sdp_media_set_port_info(media, ctypes.c_uint(port), ctypes.c_uint(1))
    sdp.gst_sdp_media_set_proto(media, b"RTP/AVP")
    sdp.gst_sdp_message_set_version(msg, b"0")
    sdp.gst_sdp_message_set_origin(msg, b"-", b"1", b"1", b"IN", family.encode(), address.encode())
    sdp.gst_sdp_message_set_session_name(msg, b"GStreamer rtpopuspay")
    sdp.gst_sdp_message_set_connection(msg, b"IN", family.encode(), address.encode(), ctypes.c_uint(0),
                                       ctypes.c_uint(0))
    sdp.gst_sdp_message_add_time(msg, b"0", b"0", None)
    sdp.gst_sdp_message_add_media(msg, media)  # copies
    text_ptr = sdp.gst_sdp_message_as_text(msg)
    text = ctypes.string_at(text_ptr).decode()
    glib.g_free(text_ptr)
    sdp.gst_sdp_media_free(media)
    sdp.gst_sdp_message_free(msg)
    gst.gst_caps_unref(caps)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--pt", type=int)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5004)
    args = ap.parse_args()
    Gst.init(None)
    caps = payloader_caps(args.pt, args.channels)
    family = "IP6" if ":" in args.address else "IP4"
    text = sdp_text(caps.to_string(), family, args.address, args.port)
    with open(args.out, "w", newline="") as f:
        f.write(text)
    print(caps.to_string())


if __name__ == "__main__":
    main()
