#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for the brain's tests and
benchmark (standard library only). It listens on 127.0.0.1 on an ephemeral
port, prints the port on its first line of stdout, and exits when its stdin
closes (the test ended, even by a crash) or after --lifetime seconds.

The model name picks the behaviour, so one server covers every case:
  normal       a short streamed answer, finish_reason and [DONE]
  slow         the same, 40 ms between tokens
  delay-first  headers at once, then nothing for 3 s (first-token timeout)
  first:MS:TOK:TEXT  a local LLM's pace: the words of TEXT streamed, the first
               after MS ms, then one every TOK ms; a non-streamed request
               (the judge, the filler choice) answers "complete" at once
  stall        two tokens, then silence for 10 s (stall timeout)
  http401      401 with an OpenAI-style error that echoes the key it got
  http500      500 with a plain-text body
  malformed    one token, then an event that is not JSON
  error-event  one token, then {"error": ...} inside the stream
  drop         two tokens, then the socket is reset mid-chunk
  truncated    tokens, then a clean end without finish_reason or [DONE]
  split        the stream sent byte by byte, CRLF line ends, comments,
               "data:" without a space, one event over two data lines,
               a usage chunk without choices
  json         a non-streamed JSON answer although stream was asked for
  infinite     a token every 10 ms until the client goes away (cancellation)
  bench        ten tokens at once (latency figures measure the client)
  auth         401 unless the header is "Bearer test-key-123", else normal
  say:TEXT     non-streamed requests answer TEXT (judge and filler replies)
  slowsay:TEXT the same after 2 s
  stream:N:TEXT  streams TEXT N times, one word (and its space) a token, 5 ms
               apart (long answers in any script: Japanese, Arabic, emoji)
GET /stats gives the request count, connections closed early by the client,
the last request body and Authorization header.
"""
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"requests": 0, "closed_early": 0, "last_body": None, "last_auth": None,
         "last_close_at": 0.0}
LOCK = threading.Lock()
TOKENS = ["Hello", " there", "!", " How", " can", " I", " help", " you", " today", "?"]


def chunk(tok=None, finish=None, role=None):
    delta = {}
    if role:
        delta["role"] = role
    if tok is not None:
        delta["content"] = tok
    return json.dumps({"id": "x", "object": "chat.completion.chunk", "model": "fake",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # like real servers: no Nagle delay between the header and body writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def send_chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def reply_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        if self.path.endswith("/stats"):
            with LOCK:
                self.reply_json(200, STATS)
        else:
            self.reply_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        auth = self.headers.get("Authorization")
        with LOCK:
            STATS["requests"] += 1
            STATS["last_body"] = raw.decode("utf-8", "replace")
            STATS["last_auth"] = auth
        if not self.path.endswith("/chat/completions"):
            self.reply_json(404, {"error": {"message": "unknown path " + self.path}})
            return
        try:
            req = json.loads(raw)
        except ValueError:
            self.reply_json(400, {"error": {"message": "body is not JSON"}})
            return
        model = req.get("model", "normal")
        try:
            self.serve(model, req, auth)
        except (BrokenPipeError, ConnectionResetError):
            with LOCK:
                STATS["closed_early"] += 1
                STATS["last_close_at"] = time.monotonic()
            self.close_connection = True

    def serve(self, model, req, auth):
        if model.startswith("say:") or model.startswith("slowsay:"):
            if model.startswith("slowsay:"):
                time.sleep(2)
            text = model.split(":", 1)[1]
            self.reply_json(200, {"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text},
                 "finish_reason": "stop"}]})
            return
        if model == "auth":
            if auth != "Bearer test-key-123":
                model = "http401"
            else:
                model = "normal"
        if model == "http401":
            given = (auth or "").replace("Bearer ", "")
            self.reply_json(401, {"error": {"message": "Incorrect API key provided: " + given,
                                            "type": "invalid_request_error"}})
            return
        if model == "http500":
            body = b"internal server error: the model crashed"
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if model == "json":
            self.reply_json(200, {"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Hello from JSON."},
                 "finish_reason": "stop"}]})
            return
        if model.startswith("first:"):
            _, first_ms, tok_ms, text = model.split(":", 3)
            if not req.get("stream"):
                self.reply_json(200, {"id": "x", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "complete"},
                     "finish_reason": "stop"}]})
                return
            self.start_stream()
            self.send_chunk("data: " + chunk(role="assistant") + "\n\n")
            time.sleep(int(first_ms) / 1000.0)
            for i, word in enumerate(text.split(" ")):
                if i:
                    time.sleep(int(tok_ms) / 1000.0)
                self.send_chunk("data: " + chunk(word + " ") + "\n\n")
            self.send_chunk("data: " + chunk(finish="stop") + "\n\n")
            self.send_chunk("data: [DONE]\n\n")
            self.end_chunks()
            return
        self.start_stream()
        if model.startswith("stream:"):
            _, count, text = model.split(":", 2)
            self.send_chunk("data: " + chunk(role="assistant") + "\n\n")
            for _ in range(int(count)):
                for word in text.split(" "):
                    if word:
                        self.send_chunk("data: " + chunk(word + " ") + "\n\n")
                        time.sleep(0.005)
            self.send_chunk("data: " + chunk(finish="stop") + "\n\n")
            self.send_chunk("data: [DONE]\n\n")
            self.end_chunks()
            return
        if model == "delay-first":
            time.sleep(3)
            self.send_chunk("data: " + chunk("late") + "\n\n")
            self.send_chunk("data: [DONE]\n\n")
            self.end_chunks()
            return
        if model == "split":
            text = ": keep-alive comment\r\n\r\n"
            text += "data:" + chunk(role="assistant") + "\r\n\r\n"
            for t in TOKENS[:4]:
                text += "data: " + chunk(t) + "\r\n\r\n"
            j = chunk(" two lines")
            half = len(j) // 2
            text += "data: " + j[:half] + "\r\ndata: " + j[half:] + "\r\n\r\n"
            text += "event: message\r\nid: 7\r\ndata: " + chunk(None, "stop") + "\r\n\r\n"
            text += 'data: {"id":"x","choices":[],"usage":{"total_tokens":9}}\r\n\r\n'
            text += "data: [DONE]\r\n\r\n"
            for b in text.encode():
                self.send_chunk(bytes([b]))
            self.end_chunks()
            return
        if model == "infinite":
            for i in range(1000):
                self.send_chunk("data: " + chunk(" tok%d" % i) + "\n\n")
                time.sleep(0.01)
            self.end_chunks()
            return
        self.send_chunk("data: " + chunk(role="assistant") + "\n\n")
        toks = TOKENS
        for i, t in enumerate(toks):
            if model == "slow":
                time.sleep(0.04)
            if model == "stall" and i == 2:
                time.sleep(10)
                return
            if model == "malformed" and i == 1:
                self.send_chunk("data: {oops this is not json\n\n")
                self.end_chunks()
                return
            if model == "error-event" and i == 1:
                self.send_chunk('data: {"error":{"message":"the model is overloaded"}}\n\n')
                self.end_chunks()
                return
            if model == "drop" and i == 2:
                self.wfile.write(b"40\r\ndata: {\"choi")
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            last = i == len(toks) - 1 and model != "truncated"
            self.send_chunk("data: " + chunk(t, "stop" if last else None) + "\n\n")
        if model != "truncated":
            self.send_chunk("data: [DONE]\n\n")
        self.end_chunks()


def main():
    lifetime = 300.0
    if len(sys.argv) > 2 and sys.argv[1] == "--lifetime":
        lifetime = float(sys.argv[2])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
