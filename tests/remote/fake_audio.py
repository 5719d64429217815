#!/usr/bin/env python3
"""A fake of the OpenAI audio API for the remote speech engines' tests and
figures (standard library only): POST /v1/audio/transcriptions and POST
/v1/audio/speech, in their real request and response formats. It listens on
127.0.0.1 on an ephemeral port, prints the port on its first line of stdout,
and exits when its stdin closes or after --lifetime seconds.

Transcriptions: the body is parsed as multipart/form-data (boundary from the
Content-Type, parts with Content-Disposition name= and filename=); `file`
must be a RIFF/WAVE, 16-bit mono PCM file, else 400. The fields model,
language, prompt, response_format and timestamp_granularities[] are kept.
response_format json gives {"text": ...}; verbose_json gives task, language,
duration, text, segments and, with timestamp_granularities[]=word, words
[{word, start, end}] spread over the audio. The model picks the behaviour:
  say:TEXT      answer TEXT (default "forty two")
  wcpp:TEXT     the same, verbose_json shaped as whisper.cpp's server answers
                (the words inside each segment, no top-level "words")
  slow:MS:TEXT  the same after MS milliseconds
  http500       500 with a plain-text body
  http401       401 with an OpenAI-style error echoing the key it got
  garbage       200 with an HTML page
  notext        200 with JSON without "text"
  drop          the connection reset before any answer

Speech: the body is JSON {model, voice, input, response_format, speed}.
The audio is a 440 Hz tone, 200 ms per word of input (divided by speed),
24 kHz s16le, sent with Transfer-Encoding: chunked in 20 ms pieces;
response_format wav puts a streaming WAV header first (sizes 0xFFFFFFFF, a
LIST chunk before data), pcm sends raw samples. The model picks:
  tone          pieces as fast as the socket takes them
  realtime      one piece every 20 ms (a server that speaks as it goes)
  odd           the body in pieces of 1, 3 and 7 bytes (samples split)
  wav8k         a WAV header that says 8000 Hz
  http500       500 with a plain-text body
  garbage       200, Content-Type application/json, an error object
  stall         one piece, then nothing for 10 s
  drop          a few pieces, then the connection reset
GET /stats gives counts and the last request of each kind (fields, the
Authorization header, the audio's duration, bytes of speech sent, speech
connections the client closed early).
"""
import json
import math
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"stt_requests": 0, "tts_requests": 0, "last_stt": None, "last_tts": None,
         "last_auth": None, "tts_bytes_sent": 0, "tts_closed_early": 0}
LOCK = threading.Lock()
RATE = 24000


def parse_multipart(body, content_type):
    """Returns {name: (filename or None, bytes)}; raises ValueError."""
    boundary = None
    for p in content_type.split(";"):
        p = p.strip()
        if p.startswith("boundary="):
            boundary = p[len("boundary="):].strip('"')
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise ValueError("not multipart/form-data")
    delim = b"--" + boundary.encode()
    parts = {}
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    for c in chunks[1:-1]:
        if not c.startswith(b"\r\n"):
            raise ValueError("bad part start")
        c = c[2:]
        head, sep, data = c.partition(b"\r\n\r\n")
        if not sep or not data.endswith(b"\r\n"):
            raise ValueError("bad part")
        data = data[:-2]
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-disposition":
                for item in v.split(";"):
                    item = item.strip()
                    if item.startswith("name="):
                        name = item[5:].strip('"')
                    elif item.startswith("filename="):
                        filename = item[9:].strip('"')
        if name is None:
            raise ValueError("part without a name")
        parts[name] = (filename, data)
    return parts


def wav_duration(data):
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("file is not a WAV")
    off, fmt = 12, None
    while off + 8 <= len(data):
        cid, size = data[off:off + 4], struct.unpack("<I", data[off + 4:off + 8])[0]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[off + 8:off + 24])
        elif cid == b"data":
            if not fmt or fmt[0] != 1 or fmt[1] != 1 or fmt[5] != 16:
                raise ValueError("file is not 16-bit mono PCM")
            n = min(size, len(data) - off - 8) // 2
            return n / fmt[2], fmt[2]
        off += 8 + size + (size & 1)
    raise ValueError("WAV without data")


def tone(n_samples, start):
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * (start + i) / RATE)))
                    for i in range(n_samples))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # as real servers do: no Nagle delay between the headers and the body
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, code, ctype, data):
        if isinstance(data, str):
            data = data.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                self.reply(200, "application/json", json.dumps(STATS))
        else:
            self.reply(404, "text/plain", "not found")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        auth = self.headers.get("Authorization")
        with LOCK:
            STATS["last_auth"] = auth
        if self.path.endswith("/audio/transcriptions"):
            self.transcribe(body, auth)
        elif self.path.endswith("/audio/speech"):
            self.speech(body, auth)
        else:
            self.reply(404, "text/plain", "not found")

    # ---- speech-to-text ------------------------------------------------
    def transcribe(self, body, auth):
        try:
            parts = parse_multipart(body, self.headers.get("Content-Type", ""))
            if "file" not in parts or not parts["file"][0]:
                raise ValueError("no file part")
            dur, rate = wav_duration(parts["file"][1])
        except ValueError as e:
            self.reply(400, "application/json", json.dumps({"error": {"message": str(e)}}))
            return
        fields = {k: v[1].decode("utf-8", "replace") for k, v in parts.items() if k != "file"}
        fields["duration"] = dur
        fields["rate"] = rate
        fields["filename"] = parts["file"][0]
        with LOCK:
            STATS["stt_requests"] += 1
            STATS["last_stt"] = fields
        model = fields.get("model", "")
        text = "forty two"
        if model.startswith("say:") or model.startswith("wcpp:"):
            text = model.split(":", 1)[1]
        elif model.startswith("slow:"):
            _, ms, text = model.split(":", 2)
            time.sleep(int(ms) / 1000.0)
        elif model == "http500":
            self.reply(500, "text/plain", "internal error: the model crashed")
            return
        elif model == "http401":
            self.reply(401, "application/json", json.dumps(
                {"error": {"message": "Incorrect API key provided: %s" % (auth or ""),
                           "type": "invalid_request_error"}}))
            return
        elif model == "garbage":
            self.reply(200, "text/html", "<html><body>502 Bad Gateway</body></html>")
            return
        elif model == "notext":
            self.reply(200, "application/json", json.dumps({"result": "forty two"}))
            return
        elif model == "drop":
            self.reset()
            return
        if fields.get("response_format") == "verbose_json":
            ws = text.split()
            step = dur / max(len(ws), 1)
            out = {"task": "transcribe", "language": fields.get("language", "en"),
                   "duration": dur, "text": " " + text,
                   "segments": [{"id": 0, "start": 0.0, "end": dur, "text": " " + text}]}
            words = [{"word": (" " if model.startswith("wcpp:") else "") + w,
                      "start": round(i * step, 3), "end": round((i + 1) * step, 3)}
                     for i, w in enumerate(ws)]
            if model.startswith("wcpp:"):
                out["segments"][0]["words"] = words
            elif fields.get("timestamp_granularities[]") == "word":
                out["words"] = words
            self.reply(200, "application/json", json.dumps(out))
        else:
            self.reply(200, "application/json", json.dumps({"text": " " + text}))

    # ---- text-to-speech ------------------------------------------------
    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()
        with LOCK:
            STATS["tts_bytes_sent"] += len(data)

    def speech(self, body, auth):
        try:
            req = json.loads(body)
            model, text = req["model"], req["input"]
            fmt = req.get("response_format", "mp3")
            speed = float(req.get("speed", 1.0))
        except (ValueError, KeyError, TypeError):
            self.reply(400, "application/json", json.dumps({"error": {"message": "bad JSON"}}))
            return
        with LOCK:
            STATS["tts_requests"] += 1
            STATS["last_tts"] = req
        if fmt not in ("pcm", "wav"):
            self.reply(400, "application/json",
                       json.dumps({"error": {"message": "unsupported format " + fmt}}))
            return
        if model == "http500":
            self.reply(500, "text/plain", "internal error: the voice crashed")
            return
        if model == "garbage":
            self.reply(200, "application/json",
                       json.dumps({"error": {"message": "the voice is not loaded"}}))
            return
        n = int(RATE * 0.2 * max(len(text.split()), 1) / speed)
        piece = RATE // 50
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav" if fmt == "wav" else "audio/pcm")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if fmt == "wav":
                rate = 8000 if model == "wav8k" else RATE
                fmt_chunk = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
                info = b"LIST" + struct.pack("<I", 5) + b"INFO\x00\x00"  # odd size, padded
                self.send_chunk(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + fmt_chunk +
                                info + b"data" + struct.pack("<I", 0xFFFFFFFF))
            sent = 0
            while sent < n:
                k = min(piece, n - sent)
                data = tone(k, sent)
                if model == "odd":
                    i, sizes = 0, [1, 3, 7]
                    while i < len(data):
                        s = sizes[i % 3]
                        self.send_chunk(data[i:i + s])
                        i += s
                else:
                    self.send_chunk(data)
                sent += k
                if model == "realtime":
                    time.sleep(0.02)
                if model == "stall" and sent >= piece:
                    time.sleep(10)
                if model == "drop" and sent >= 3 * piece:
                    self.reset()
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            with LOCK:
                STATS["tts_closed_early"] += 1
            self.close_connection = True


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a client that gave up (a timeout, an abort) is part of the tests
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    lifetime = 300.0
    if len(sys.argv) > 2 and sys.argv[1] == "--lifetime":
        lifetime = float(sys.argv[2])
    srv = Server(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def watch_stdin():
        try:
            while sys.stdin.read(1):
                pass
        except Exception:
            pass
    t = threading.Thread(target=watch_stdin, daemon=True)
    t.start()
    t.join(lifetime)


if __name__ == "__main__":
    main()
