#!/usr/bin/python3
"""Stand-in tasker gRPC backend for t/grpc/test_grpc.py (no .proto compilation needed).

  /usr/bin/python3 t/grpc/server.py [--host 127.0.0.1] [--port 0]

Serves, with grpc generic handlers and raw bytes in and out:

  tasker.v1.TaskService     CreateTask, GetTask, CancelTask (unary), StreamTaskStatus (server
                            streaming, 3 messages), ImportTasks (client streaming: one reply
                            whose "request" is the messages joined, "count" their number)
  tasker.v1.HealthService   Check (unary)
  grpc.health.v1.Health     Check (unary)

Every response message is a compact JSON object (bytes):
  {"service": ..., "method": ..., "subject": <x-tasker-subject metadata or null>,
   "auth_method": <x-tasker-auth-method or null>, "has_authorization": bool,
   "request": <request bytes as text>, "seq": <0-based index, streaming only>}
so the test can check what nginx passed upstream (grpc_set_header X-Tasker-Subject ...).

Once listening it prints one line "LISTENING <port>" on stdout (the port actually bound, useful
with --port 0) and serves until SIGTERM/SIGINT. Uses Debian's python3-grpcio: run it with
/usr/bin/python3.
"""
import argparse
import json
import signal
import sys
import threading
from concurrent import futures

import grpc


def _metadata(context, name):
    for key, value in context.invocation_metadata():
        if key == name:
            return value
    return None


def _reply(service, method, request, context, seq=None):
    body = {
        "service": service,
        "method": method,
        "subject": _metadata(context, "x-tasker-subject"),
        "auth_method": _metadata(context, "x-tasker-auth-method"),
        "has_authorization": _metadata(context, "authorization") is not None,
        "request": request.decode("utf-8", "replace"),
    }
    if seq is not None:
        body["seq"] = seq
    return json.dumps(body, sort_keys=True).encode()


def _unary(service, method):
    def handler(request, context):
        return _reply(service, method, request, context)
    return grpc.unary_unary_rpc_method_handler(handler)  # no serializers: raw bytes


def _server_stream(service, method, count=3):
    def handler(request, context):
        for i in range(count):
            yield _reply(service, method, request, context, seq=i)
    return grpc.unary_stream_rpc_method_handler(handler)


def _client_stream(service, method):
    def handler(request_iterator, context):
        msgs = list(request_iterator)
        body = json.loads(_reply(service, method, b"".join(msgs), context))
        body["count"] = len(msgs)
        return json.dumps(body, sort_keys=True).encode()
    return grpc.stream_unary_rpc_method_handler(handler)


def build_server(host="127.0.0.1", port=0):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.so_reuseport", 0)])
    task = "tasker.v1.TaskService"
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler(task, {
            "CreateTask": _unary(task, "CreateTask"),
            "GetTask": _unary(task, "GetTask"),
            "CancelTask": _unary(task, "CancelTask"),
            "StreamTaskStatus": _server_stream(task, "StreamTaskStatus"),
            "ImportTasks": _client_stream(task, "ImportTasks"),
        }),
        grpc.method_handlers_generic_handler("tasker.v1.HealthService", {
            "Check": _unary("tasker.v1.HealthService", "Check"),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": _unary("grpc.health.v1.Health", "Check"),
        }),
    ))
    bound = server.add_insecure_port("%s:%d" % (host, port))
    if bound == 0:
        raise RuntimeError("cannot bind %s:%d" % (host, port))
    return server, bound


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()

    server, port = build_server(args.host, args.port)
    server.start()

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    print("LISTENING %d" % port, flush=True)
    done.wait()
    server.stop(grace=0.5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
