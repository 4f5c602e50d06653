#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/: inputs that reach deep into each
target (a whole talk burst, a session with a press, every kind of text), from which libFuzzer
mutates and which CI replays. Run from anywhere; rewrites the files it owns.
Usage: tests/fuzz/make_corpus.py
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
OPUS_SILENCE = b"\xf8\xff\xfe"                                   # CELT FB 20 ms, code 0: silence
OPUS_FRAME = b"\xf8" + bytes((i * 37 + 11) & 0xFF for i in range(40))  # decodes as some CELT frame


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes(data))


# ---- fuzz_receiver: ops (see fuzz_receiver.cpp) ----
def rx_packet(first, last, red=False, capture=None, key_down=None, key_up=None, body=OPUS_FRAME):
    flags = (4 if first else 0) | (8 if red else 0)
    ext = 8 | (16 if last else 0)
    out = bytes([1, flags, 1]) + struct.pack(">h", 96)
    fields = b""
    if capture is not None:
        ext |= 1
        fields += struct.pack(">Q", capture)
    if key_down is not None:
        ext |= 2
        fields += struct.pack(">Q", key_down)
    if key_up is not None:
        ext |= 4
        fields += struct.pack(">Q", key_up)
    fields += struct.pack(">H", 0) + bytes([0])  # burst start offset, repeat distance
    return out + bytes([ext]) + fields + bytes([len(body)]) + body


def rx_wait(ms):
    return bytes([(min(ms, 63) << 2) | 3])


def rx_burst(n, red_from=None, times=None):
    times = times or (lambda i: (1_000_000 + i * 20_000, 1_000_000, 1_000_000 + n * 20_000))
    out = bytes([2])  # permit the burst
    for i in range(n):
        cap, down, up = times(i)
        out += rx_packet(i == 0, i == n - 1, red=red_from is not None and i >= red_from, capture=cap,
                         key_down=down if i == 0 else None, key_up=up if i == n - 1 else None)
        out += rx_wait(20)
    return out + rx_wait(63) * 8


def rtp_raw(seq, ts, payload, pt=111, marker=False):
    return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, 0xABCD) + payload


def rx_raw(datagram):
    return bytes([0]) + struct.pack(">H", len(datagram)) + datagram


write("fuzz_receiver", "burst_opus", rx_burst(25))
write("fuzz_receiver", "burst_red", rx_burst(25, red_from=5))
write("fuzz_receiver", "times_2_63", rx_burst(12, times=lambda i: (1 << 63, (1 << 63) | 5, 2**64 - 1)))
write("fuzz_receiver", "two_streams_new_session",
      rx_burst(10) + bytes([(4 << 2) | 2]) + rx_burst(10))
write("fuzz_receiver", "standard_sender_ts_jumps",
      b"".join(rx_raw(rtp_raw(i, i * 0x7FFFFFFF, OPUS_SILENCE, marker=i == 0)) + rx_wait(20) for i in range(200)))

# ---- fuzz_jitter: setup byte, then ops (see fuzz_jitter.cpp) ----
def jb_insert(wait_ms, seq, ts, flags, samples=960, payload=b"\x01\x02\x03"):
    return bytes([(wait_ms << 3) | 0, flags]) + struct.pack(">HIH", seq, ts, samples) + bytes([len(payload)]) + payload


def jb_next(wait_ms):
    return bytes([(wait_ms << 3) | 4])


jb = bytes([0x21])
for i in range(40):
    jb += jb_insert(20, 100 + i, 960 * i, (4 if i == 0 else 0) | (8 if i == 39 else 0) | 32) + jb_next(0) + jb_next(10)
write("fuzz_jitter", "burst", jb + jb_next(31) * 20)
jb = bytes([0x00])
for i in range(40):  # out of order, duplicates, a copy
    seq = 100 + (i ^ 1)
    jb += jb_insert(15, seq, 960 * (seq - 100), 4 if seq == 100 else 0) + jb_insert(0, seq, 960 * (seq - 100), 128)
    jb += jb_next(5)
write("fuzz_jitter", "reordered_with_copies", jb + jb_next(31) * 20)

# ---- fuzz_session: config bytes, then ops (see fuzz_session.cpp) ----
TICK = 252  # 252 % 11 == 10: time passes, 16 ticks of 10 ms


def forged(op, mtype, id_choice, body, session_id=None):
    out = bytes([op, mtype, id_choice])
    if id_choice % 3 == 2:
        out += struct.pack(">Q", session_id or 0)
    return out + bytes([len(body)]) + body


s = bytes([1, 10, 0]) + bytes([0]) + bytes([TICK]) * 3 + bytes([1]) + bytes([TICK]) * 10 + bytes([2]) + bytes([TICK]) * 5
write("fuzz_session", "press_and_release", s + bytes([3]) + bytes([TICK]) * 3)
write("fuzz_session", "cap_and_renew", bytes([1, 0, 0, 0]) + bytes([TICK]) * 60)
write("fuzz_session", "power_cycle", bytes([1, 10, 0, 0]) + bytes([TICK]) * 3 + bytes([5]) + bytes([TICK]) * 20)
write("fuzz_session", "forged_end_and_talk",
      bytes([1, 10, 0, 0]) + bytes([TICK]) * 3 + forged(7, 6, 1, b"\x00\x00\x00\x09") + forged(7, 4, 1, b"\x02")
      + forged(7 + 0x80, 1, 0, b"\x00\x10" + bytes(16)) + forged(8, 4, 1, b"\x02") + bytes([TICK]) * 3)

# ---- fuzz_key_decoder ----
for name, data in {"legacy": b" q r\x03", "kitty_press_release": b"\x1b[32u\x1b[32;1:2u\x1b[32;1:3u",
                   "kitty_query_answer": b"\x1b[?1u", "kitty_ctrl_c": b"\x1b[99;5u", "lone_esc": b"\x1bx"}.items():
    write("fuzz_key_decoder", name, data)

# ---- fuzz_text_parsers: selector byte, then the text ----
texts = {
    "talk_script": (0, b"0.5+2.0,3.0+1.5"),
    "link_spec": (1, b"delay=40,jitter=20,jitter-dist=normal,loss=5,ge=0.05/0.5/0/100,reorder=2,dup=1,"
                     b"rate=1500,queue=200,outage=4.0+0.8;9+1.5"),
    "link_spec_none": (1, b"none"),
    # Overlapping outages that start together: describe() must give them back in parse order.
    "link_spec_overlapping_outages": (1, b"outage=0+8;1+8;1+8;0+8;1+8;0+1;0+8;0+8;1+8;0+8;0+8;1+8;0+1;0+8;1+1;0+1;0+1"),
    "seed": (2, b"18446744073709551615"),
    "endpoint_v4": (3, b"127.0.0.1:5004"),
    "endpoint_v6": (3, b"[::1]:0"),
    "endpoint_any": (3, b":5004"),
}
for name, (sel, text) in texts.items():
    write("fuzz_text_parsers", name, bytes([sel]) + text)


# ---- fuzz_control (version 2 layout, docs/protocol.md) ----
def control(mtype, body, session_id=0, sequence=1):
    return struct.pack(">BBBBQIH", 0x50, 2, mtype, 0, session_id, sequence, len(body)) + body


write("fuzz_control", "start", control(1, b"\x00\x00"))
write("fuzz_control", "start_with_cookie", control(1, b"\x07SN-0001\x10" + bytes(range(16)), sequence=2))
write("fuzz_control", "retry", control(0x0B, b"\x10" + bytes(range(16))))
write("fuzz_control", "accept", control(2, struct.pack(">IIHBI", 300000, 299000, 1000, 3, 7) + b"\x05CAM-1\x00",
                                        session_id=0x0123456789ABCDEF))
write("fuzz_control", "talk_request", control(6, b"\x00\x00\x00\x01", session_id=0x0123456789ABCDEF))


# ---- fuzz_secure_links: steps of (op, length, bytes, u16 ms), see fuzz_secure_links.cpp ----
def link_step(op, data=b"", ms=0, extra=b""):
    return bytes([op, len(data)]) + data + struct.pack(">H", ms) + extra


DTLS_HELLO = bytes([22, 0xFE, 0xFD, 0, 0]) + bytes(6) + struct.pack(">H", 12) + bytes([1]) + bytes(11)
write("fuzz_secure_links", "genuine_control", link_step(1, extra=b"\x05\x01") * 3)
write("fuzz_secure_links", "srtp_flips", b"".join(link_step(2, bytes(range(20)), 20, bytes([i, 0x80])) for i in range(8)))
write("fuzz_secure_links", "stranger_hello", link_step(0, DTLS_HELLO, 5) + link_step(4, ms=200) + link_step(5))
write("fuzz_secure_links", "garbage_srtp", link_step(3, bytes([0x80, 111]) + bytes(30), 1, b"\x00\x01"))
write("fuzz_secure_links", "app_record", link_step(0, bytes([23, 0xFE, 0xFD, 0, 1]) + bytes(6) + b"\x00\x10" + bytes(16)))


# ---- fuzz_pairing (docs/security.md, "Pairing") ----
def pairing(mtype, body=b""):
    return b"PTPR" + struct.pack(">BBH", 1, mtype, len(body)) + body


ID = b"0123456789abcdef0123456789abcdef"
write("fuzz_pairing", "hello", pairing(1))
write("fuzz_pairing", "ready", pairing(2))
write("fuzz_pairing", "locked", pairing(3, struct.pack(">I", 3600)))
write("fuzz_pairing", "busy", pairing(4))
write("fuzz_pairing", "request", pairing(5, ID))
write("fuzz_pairing", "accept", pairing(6, ID))
write("fuzz_pairing", "hello_then_tls", pairing(1) + b"\x16\x03\x01\x00\x2a")
write("fuzz_pairing", "bad_id", pairing(5, ID[:31] + b"G"))
