#!/usr/bin/python3
"""A reference RTSP camera built on gst-rtsp-server, for ptt-client to talk to.

Default: GStreamer's ONVIF server (RTSPOnvifServer + RTSPOnvifMediaFactory) at
rtsp://127.0.0.1:PORT/cam offering a 440 Hz tone as the camera's audio (Opus, or --camera-codec
PCMU, PCMA or L16 at 16 kHz) and, to a DESCRIBE
with Require: www.onvif.org/ver20/backchannel, a backchannel in --codec whose audio is decoded
and written to --out as raw 48 kHz mono float32 as it arrives. --plain serves the same audio from
a plain RTSPServer, which has no backchannel and answers that Require with 551. The bound port
goes to --port-file once the server listens. Runs until SIGTERM/SIGINT; exit 0, 1 on a GStreamer
error, 2 on bad usage.
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

TONE = "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! audioresample"
# The camera's own audio (its microphone) in --camera-codec, 20 ms packets.
CAMERA_AUDIO = {
    "opus": TONE + " ! opusenc frame-size=20 ! rtpopuspay name=pay0 pt=96",
    "pcmu": TONE + " ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay0 pt=0 min-ptime=20000000 "
                   "max-ptime=20000000",
    "pcma": TONE + " ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay0 pt=8 min-ptime=20000000 "
                   "max-ptime=20000000",
    "l16": TONE + " ! audio/x-raw,format=S16BE,rate=16000,channels=1 ! rtpL16pay name=pay0 pt=98 "
                  "min-ptime=20000000 max-ptime=20000000",
}
# Decoded talk audio, written unbuffered so what arrived is on disk when the server is stopped.
SINK = ("audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=1 "
        "! filesink location={out} buffer-mode=unbuffered async=false sync=false")
BACKCHANNELS = {
    # The backchannel's payload type differs from the camera audio's: the client must use the SDP's.
    "opus": ('application/x-rtp,media=audio,payload=110,clock-rate=48000,encoding-name=OPUS',
             "rtpopusdepay ! opusdec"),
    "pcmu": ('application/x-rtp,media=audio,payload=0,clock-rate=8000,encoding-name=PCMU',
             "rtppcmudepay ! mulawdec"),
    "pcma": ('application/x-rtp,media=audio,payload=8,clock-rate=8000,encoding-name=PCMA',
             "rtppcmadepay ! alawdec"),
    "l16": ('application/x-rtp,media=audio,payload=97,clock-rate=16000,encoding-name=L16,channels=1',
            "rtpL16depay"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", default="/dev/null")
    ap.add_argument("--codec", default="opus", choices=sorted(BACKCHANNELS))
    ap.add_argument("--camera-codec", default="opus", choices=sorted(CAMERA_AUDIO), help="the camera's own audio")
    ap.add_argument("--plain", action="store_true", help="no ONVIF, no backchannel")
    args = ap.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    if args.plain:
        server = GstRtspServer.RTSPServer()
        factory = GstRtspServer.RTSPMediaFactory()
    else:
        server = GstRtspServer.RTSPOnvifServer()
        factory = GstRtspServer.RTSPOnvifMediaFactory()
        caps, decode = BACKCHANNELS[args.codec]
        factory.set_backchannel_launch(
            '( capsfilter caps="{}" name=depay_backchannel ! {} ! {} )'.format(caps, decode, SINK.format(out=args.out)))
        factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia.__gtype__)
    factory.set_launch("( " + CAMERA_AUDIO[args.camera_codec] + " )")
    factory.set_shared(False)
    server.set_address("127.0.0.1")
    server.set_service("0")
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("gst_onvif_server: cannot listen", file=sys.stderr)
        return 1
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.get_bound_port()))
    os.replace(args.port_file + ".tmp", args.port_file)
    for s in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, s, loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
